import {
  type Client,
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
} from '@temporalio/client';
import { type CheckoutJson, checkoutSummary } from '../lib/checkout.js';
import { AppError } from '../lib/errors.js';
import { CheckoutStatusKey, UserIdKey } from '../lib/search-attributes.js';
import { taskQueue } from '../lib/task-queues.js';
import { within } from '../lib/within.js';
import {
  awaitOutcomeUpdate,
  CHECKOUT_WORKFLOW_TYPE,
  type CheckoutInput,
  checkoutWorkflowId,
  getStatusQuery,
  type PaymentConfirmation,
  paymentConfirmedSignal,
  requestCancelUpdate,
} from '../workflows/checkout.contract.js';
import type { checkoutWorkflow } from '../workflows/checkout.workflow.js';
import { contractError, type TemporalProbe } from './temporal-errors.js';

/** What `submit` learned within its wait. */
export type SubmitResult =
  /** The saga reached an outcome (or, with `until: 'opened'`, recorded the checkout). */
  | { kind: 'answered'; checkout: CheckoutJson }
  /** Still running when the wait ended. */
  | { kind: 'pending' }
  /** The saga of this key ended before, and its outcome for this request is not stored in Temporal. */
  | { kind: 'ended' };

/**
 * The API's port to the checkout saga. The Temporal implementation is below; route tests that
 * check only the edge can pass their own.
 */
export interface CheckoutSaga {
  /**
   * Starts the checkout's saga, or attaches to the one its key started, and waits up to `waitMs`
   * for an outcome. `idempotency_key_reused` when the running saga was started by another request.
   */
  submit(
    input: CheckoutInput,
    options: {
      waitMs: number;
      until: 'opened' | 'outcome';
      summary: { itemCount: number; totalCents: number; currency: string };
    },
  ): Promise<SubmitResult>;
  /**
   * Asks a running saga to cancel and waits up to `waitMs` for it to be CANCELLED (undefined if
   * it took longer). `checkout_not_cancellable` once its order is being created or it ended.
   */
  cancel(checkoutId: string, reason: string | undefined, waitMs: number): Promise<CheckoutJson | undefined>;
  /** Delivers a 3-D Secure result to the saga; harmless once the saga has ended. */
  confirmPayment(checkoutId: string, confirmation: PaymentConfirmation): Promise<void>;
  /** The live state of a saga, or undefined when it cannot be asked (ended, or Temporal away). */
  status(checkoutId: string): Promise<CheckoutJson | undefined>;
}

const STATUS_QUERY_TIMEOUT_MS = 1_000;

/** The checkout saga on Temporal: update-with-start to submit, updates, signals and queries to steer. */
export function createTemporalCheckoutSaga(options: {
  client: Client;
  taskQueuePrefix: string;
  /** Checked before each call so an unreachable Temporal answers 503 at once; tests that need no such check omit it. */
  probe?: TemporalProbe | undefined;
}): CheckoutSaga {
  const { client } = options;
  const queue = taskQueue(options.taskQueuePrefix, 'checkout');
  const handle = (checkoutId: string) => client.workflow.getHandle(checkoutWorkflowId(checkoutId));

  async function status(checkoutId: string): Promise<CheckoutJson | undefined> {
    try {
      return await within(handle(checkoutId).query(getStatusQuery), STATUS_QUERY_TIMEOUT_MS);
    } catch {
      return undefined;
    }
  }

  return {
    status,

    async submit(input, { waitMs, until, summary }) {
      await options.probe?.check();
      const start = new WithStartWorkflowOperation<typeof checkoutWorkflow>(CHECKOUT_WORKFLOW_TYPE, {
        workflowId: checkoutWorkflowId(input.checkoutId),
        taskQueue: queue,
        args: [input],
        // A retry of the key attaches to the running saga; an ended one is never run again.
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        staticSummary: checkoutSummary({ userId: input.userId, ...summary }),
        staticDetails: `Idempotency key \`${input.idempotencyKey}\` · checkout ${input.checkoutId}`,
        typedSearchAttributes: [
          { key: CheckoutStatusKey, value: 'INITIATED' },
          { key: UserIdKey, value: input.userId },
        ],
      });
      try {
        const checkout = await within(
          client.workflow.executeUpdateWithStart(awaitOutcomeUpdate, {
            args: [{ requestHash: input.requestHash, until }],
            // The same request waiting for the same thing shares one update: a repeat gets its stored result.
            updateId: `${until}-${input.requestHash}`,
            startWorkflowOperation: start,
          }),
          waitMs,
        );
        return checkout ? { kind: 'answered', checkout } : { kind: 'pending' };
      } catch (error) {
        if (error instanceof WorkflowExecutionAlreadyStartedError) return { kind: 'ended' };
        throw contractError(error);
      }
    },

    async cancel(checkoutId, reason, waitMs) {
      await options.probe?.check();
      try {
        const update = await handle(checkoutId).startUpdate(requestCancelUpdate, {
          args: [reason === undefined ? {} : { reason }],
          waitForStage: 'ACCEPTED',
        });
        return await within(update.result(), waitMs);
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) {
          throw new AppError('checkout_not_cancellable', 'the checkout saga has already ended', {
            cause: error,
          });
        }
        throw contractError(error);
      }
    },

    async confirmPayment(checkoutId, confirmation) {
      await options.probe?.check();
      try {
        await handle(checkoutId).signal(paymentConfirmedSignal, confirmation);
      } catch (error) {
        // An ended saga has its outcome already: a late or repeated confirmation changes nothing.
        if (error instanceof WorkflowNotFoundError) return;
        throw contractError(error);
      }
    },
  };
}

/** The port where no workflow service is wired (benchmarks of other routes): every call answers 503. */
export function checkoutSagaUnavailable(): CheckoutSaga {
  const down = async (): Promise<never> => {
    throw new AppError('service_unavailable', 'checkout is not available in this process');
  };
  return { submit: down, cancel: down, confirmPayment: down, status: async () => undefined };
}
