import { randomUUID } from 'node:crypto';
import {
  type Client,
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
} from '@temporalio/client';
import { purchaseSummary } from '../lib/checkout.js';
import { AppError } from '../lib/errors.js';
import type { OrderJson, OrderRecord } from '../lib/order.js';
import { OrderIdKey, OrderStatusKey, TotalCentsKey, UserIdKey } from '../lib/search-attributes.js';
import { taskQueue } from '../lib/task-queues.js';
import { within } from '../lib/within.js';
import {
  cancelOrderUpdate,
  deliverOrderUpdate,
  ORDER_WORKFLOW_TYPE,
  type OrderMoveRequest,
  orderWorkflowId,
  shipOrderUpdate,
} from '../workflows/order.contract.js';
import type { orderWorkflow } from '../workflows/order.workflow.js';
import { contractError, retryShortly, type TemporalProbe } from './temporal-errors.js';

export type OrderMove = 'ship' | 'deliver' | 'cancel';

/** What a move learned within its wait. */
export type MoveResult =
  | { kind: 'answered'; order: OrderJson }
  | { kind: 'pending' }
  /** The order's lifecycle has ended (DELIVERED or CANCELLED): the stored order tells the rest. */
  | { kind: 'ended' };

/** The API's port to the order lifecycle workflow. */
export interface OrderLifecycle {
  /**
   * Asks the order's workflow to move, starting it if it is not running (an order created before
   * lifecycles existed, or whose workflow an operator terminated). Refused moves throw their
   * contract error (`order_not_cancellable`, `conflict`).
   */
  move(order: OrderRecord, move: OrderMove, request: OrderMoveRequest, waitMs: number): Promise<MoveResult>;
}

const UPDATES = { ship: shipOrderUpdate, deliver: deliverOrderUpdate, cancel: cancelOrderUpdate } as const;

export function createTemporalOrderLifecycle(options: {
  client: Client;
  taskQueuePrefix: string;
  /** Checked before each call so an unreachable Temporal answers 503 at once; tests that need no such check omit it. */
  probe?: TemporalProbe | undefined;
}): OrderLifecycle {
  const queue = taskQueue(options.taskQueuePrefix, 'orders');
  return {
    async move(order, move, request, waitMs) {
      await options.probe?.check();
      const start = new WithStartWorkflowOperation<typeof orderWorkflow>(ORDER_WORKFLOW_TYPE, {
        workflowId: orderWorkflowId(order.id),
        taskQueue: queue,
        args: [{ orderId: order.id }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        // A lifecycle that ended (delivered, cancelled) is never run again; one an operator
        // terminated may be, and picks up from the stored order.
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        staticSummary: purchaseSummary('Order', {
          userId: order.userId,
          itemCount: order.lines.reduce((sum, line) => sum + line.quantity, 0),
          totalCents: order.totalCents,
          currency: order.currency,
        }),
        typedSearchAttributes: [
          { key: OrderStatusKey, value: order.status },
          { key: UserIdKey, value: order.userId },
          { key: OrderIdKey, value: order.id },
          { key: TotalCentsKey, value: order.totalCents },
        ],
      });
      const deadline = Date.now() + waitMs;
      try {
        // Accepted first (the workflow's validator passed), so a 202 never promises a move that
        // the workflow has not taken: one not accepted within the wait is a 503 to retry.
        const update = await within(
          options.client.workflow.startUpdateWithStart(UPDATES[move], {
            args: [request],
            updateId: randomUUID(),
            startWorkflowOperation: start,
            waitForStage: 'ACCEPTED',
          }),
          waitMs,
        );
        if (!update) throw retryShortly('the order could not take this change in time');
        const answer = await within(update.result(), Math.max(0, deadline - Date.now()));
        return answer ? { kind: 'answered', order: answer } : { kind: 'pending' };
      } catch (error) {
        if (error instanceof WorkflowExecutionAlreadyStartedError) return { kind: 'ended' };
        throw contractError(error);
      }
    },
  };
}

/** The port where no workflow service is wired (tests of other routes, benchmarks): 503. */
export function orderLifecycleUnavailable(): OrderLifecycle {
  return {
    async move() {
      throw new AppError('service_unavailable', 'order changes are not available in this process');
    },
  };
}
