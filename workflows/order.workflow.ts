import {
  ApplicationFailure,
  allHandlersFinished,
  CancellationScope,
  condition,
  log,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { InventoryActivities } from '../activities/inventory.activities.js';
import type { OrderActivities } from '../activities/orders.activities.js';
import type { PaymentActivities } from '../activities/payments.activities.js';
import { formatAmount } from '../lib/checkout.js';
import {
  isFinalOrderStatus,
  ORDER_TRANSITIONS,
  type OrderJson,
  type OrderRecord,
  type OrderStatus,
  orderJson,
} from '../lib/order.js';
import { OrderStatusKey } from '../lib/search-attributes.js';
import { activitiesOn, compensation, databaseStep } from './activity-options.js';
import { checkoutFailureOf, rejectUpdate, utcTime } from './failures.js';
import {
  cancelOrderSignal,
  cancelOrderUpdate,
  deliverOrderSignal,
  deliverOrderUpdate,
  getOrderStatusQuery,
  type OrderInput,
  type OrderMoveRequest,
  shipOrderSignal,
  shipOrderUpdate,
} from './order.contract.js';

/** A move asked for by the API, an operator's signal or a deadline, applied in arrival order. */
interface Move {
  to: OrderStatus;
  actor: string;
  reason?: string | undefined;
  trackingNumber?: string | undefined;
  done: boolean;
  result?: OrderJson;
  failure?: { code: string; message: string };
}

/** Where the order will be once the moves accepted so far are applied (undefined while it loads). */
function projected(order: OrderRecord | undefined, queue: readonly Move[]): OrderStatus | undefined {
  if (!order) return undefined;
  let status = order.status;
  for (const move of queue) if (ORDER_TRANSITIONS[status].includes(move.to)) status = move.to;
  return status;
}

/**
 * Why a move is refused, judged where the order will be once the moves already accepted are
 * applied. Before the order is loaded (an update that started the workflow) nothing is refused
 * here: the move itself is checked against Postgres when it is applied.
 */
function refusalOf(
  order: OrderRecord | undefined,
  queue: readonly Move[],
  move: Pick<Move, 'to' | 'trackingNumber'>,
): string | undefined {
  const expected = projected(order, queue);
  if (!order || !expected) return undefined;
  if (expected === move.to) {
    const tracking = order.trackingNumber;
    if (move.to === 'SHIPPED' && move.trackingNumber && tracking && move.trackingNumber !== tracking) {
      return `the order already shipped with tracking number ${tracking}`;
    }
    return undefined;
  }
  return ORDER_TRANSITIONS[expected].includes(move.to)
    ? undefined
    : `an order that is ${expected} cannot become ${move.to}`;
}

const refusalCode = (to: OrderStatus) => (to === 'CANCELLED' ? 'order_not_cancellable' : 'conflict');

/**
 * An order's lifecycle: CONFIRMED -> SHIPPED -> DELIVERED, or CONFIRMED -> CANCELLED (refunded
 * and restocked, each once). Moves come from the API (updates), operators (signals) or deadlines:
 * an order not shipped within ORDER_SHIP_WINDOW is cancelled and refunded, one shipped but not
 * confirmed delivered within ORDER_DELIVERY_WINDOW is taken as delivered. The workflow completes
 * when the order is DELIVERED or CANCELLED, so none waits forever.
 */
export async function orderWorkflow({ orderId }: OrderInput): Promise<OrderJson> {
  const orders = activitiesOn<OrderActivities>('orders', databaseStep);
  const payments = activitiesOn<PaymentActivities>('payments', compensation);
  const inventory = activitiesOn<InventoryActivities>('inventory', compensation);

  let order: OrderRecord | undefined;
  const queue: Move[] = [];

  function accept(move: Omit<Move, 'done'>): Move {
    const entry: Move = { ...move, done: false };
    queue.push(entry);
    return entry;
  }

  setHandler(
    getOrderStatusQuery,
    () => {
      if (!order) throw ApplicationFailure.nonRetryable('the order is still loading');
      return orderJson(order);
    },
    { description: 'The order, as GET /api/v1/orders/{id} shows it' },
  );

  const updates = [
    [shipOrderUpdate, 'SHIPPED', 'Ship (API, admin)'],
    [deliverOrderUpdate, 'DELIVERED', 'Deliver (API, admin)'],
    [cancelOrderUpdate, 'CANCELLED', 'Cancel, refund and restock (API)'],
  ] as const;
  for (const [update, to, description] of updates) {
    setHandler(
      update,
      async (request: OrderMoveRequest) => {
        const move = accept({
          to,
          actor: request.actor,
          reason: request.reason,
          trackingNumber: request.tracking_number,
        });
        await condition(() => move.done);
        if (move.failure) throw ApplicationFailure.nonRetryable(move.failure.message, move.failure.code);
        return move.result as OrderJson;
      },
      {
        description,
        validator: (request: OrderMoveRequest) => {
          const refusal = refusalOf(order, queue, { to, trackingNumber: request.tracking_number });
          if (refusal) rejectUpdate(refusalCode(to), refusal);
        },
      },
    );
  }

  const signalled = (
    to: OrderStatus,
    name: string,
    details: { reason?: string; trackingNumber?: string },
  ) => {
    const refusal = refusalOf(order, queue, { to, trackingNumber: details.trackingNumber });
    if (refusal) upsertMemo({ ignoredSignal: `${name} ignored: ${refusal}` });
    else accept({ to, actor: 'signal', ...details });
  };
  setHandler(
    shipOrderSignal,
    (request = {}) =>
      signalled(
        'SHIPPED',
        'shipOrder',
        typeof request.tracking_number === 'string' ? { trackingNumber: request.tracking_number } : {},
      ),
    { description: 'Ship. Input {} or {"tracking_number": "..."}' },
  );
  setHandler(deliverOrderSignal, () => signalled('DELIVERED', 'deliverOrder', {}), {
    description: 'Deliver a shipped order',
  });
  setHandler(
    cancelOrderSignal,
    (request = {}) =>
      signalled(
        'CANCELLED',
        'cancelOrder',
        typeof request.reason === 'string' ? { reason: request.reason } : {},
      ),
    { description: 'Cancel before shipping, refund and restock. Input {} or {"reason": "..."}' },
  );

  /** Refunds the captured payment and puts the stock back, each once, whatever happens meanwhile. */
  async function settleCancellation(current: OrderRecord): Promise<OrderRecord> {
    return CancellationScope.nonCancellable(async () => {
      setCurrentDetails('Cancelled: refunding the payment and restocking');
      await payments.refundPayment.executeWithOptions({ summary: 'Refund the payment' }, [
        current.checkoutId,
      ]);
      await payments.voidPayment.executeWithOptions({ summary: 'Void an authorization not captured' }, [
        current.checkoutId,
      ]);
      await inventory.returnStock.executeWithOptions({ summary: 'Put the stock back' }, [current.checkoutId]);
      return orders.readOrder.executeWithOptions({ summary: 'Read the refunded order' }, [current.id]);
    });
  }

  const loaded = await orders.loadOrder.executeWithOptions({ summary: 'Load the order' }, [orderId]);
  order = loaded.order;
  if (order.status === 'CANCELLED') order = await settleCancellation(order);
  mirror(order);

  while (queue.length > 0 || !isFinalOrderStatus(order.status)) {
    if (queue.length === 0) {
      const window = order.status === 'CONFIRMED' ? loaded.shipWindowMs : loaded.deliveryWindowMs;
      const deadline = Date.parse(order.updatedAt) + window;
      const asked = await condition(() => queue.length > 0, Math.max(1, deadline - Date.now()), {
        summary: `${order.status === 'CONFIRMED' ? 'Shipping' : 'Delivery'} deadline ${new Date(deadline).toISOString().slice(0, 10)} ${utcTime(new Date(deadline).toISOString())}`,
      });
      if (!asked) {
        accept(
          order.status === 'CONFIRMED'
            ? { to: 'CANCELLED', actor: 'order-timeout', reason: 'not shipped within the shipping window' }
            : {
                to: 'DELIVERED',
                actor: 'order-timeout',
                reason: 'no delivery confirmation within the delivery window; taken as delivered',
              },
        );
      }
    }
    const move = queue[0] as Move;
    try {
      order = await orders.moveOrder.executeWithOptions({ summary: `${move.to} (${move.actor})` }, [
        { orderId, to: move.to, actor: move.actor, reason: move.reason, trackingNumber: move.trackingNumber },
      ]);
      if (move.to === 'CANCELLED') order = await settleCancellation(order);
      move.result = orderJson(order);
    } catch (error) {
      const failure = checkoutFailureOf(error);
      move.failure = { code: failure.code, message: failure.message };
    }
    move.done = true;
    queue.shift();
    log.info('order move', {
      orderId,
      to: move.to,
      actor: move.actor,
      status: order.status,
      refused: move.failure?.code ?? null,
    });
    mirror(order);
  }

  await condition(allHandlersFinished);
  return orderJson(order);
}

function mirror(order: OrderRecord): void {
  upsertSearchAttributes([{ key: OrderStatusKey, value: order.status }]);
  const waiting: Record<OrderStatus, string> = {
    CONFIRMED: 'Confirmed: waiting to be shipped',
    SHIPPED: `Shipped${order.trackingNumber ? ` (tracking ${order.trackingNumber})` : ''}: waiting for delivery`,
    DELIVERED: 'Delivered',
    CANCELLED: `Cancelled; ${formatAmount(order.payment?.refundedCents ?? 0, order.currency)} refunded`,
  };
  setCurrentDetails(waiting[order.status]);
}
