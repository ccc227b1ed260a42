import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { OrderJson } from '../lib/order.js';

/**
 * The order lifecycle's public surface. The workflow type, id format, query and signal names are
 * fixed by the operator contract (API.md, "Operating with the Temporal Web UI and the temporal
 * CLI"). No logic here.
 */

export const ORDER_WORKFLOW_TYPE = 'orderWorkflow';

export function orderWorkflowId(orderId: string): string {
  return `order-${orderId}`;
}

/** The lifecycle's input: one serialisable object; new fields must be optional. */
export interface OrderInput {
  orderId: string;
}

/** `temporal workflow query --name getStatus`: the contract's `Order` object. */
export const getOrderStatusQuery = defineQuery<OrderJson>('getStatus');

export interface ShipRequest {
  tracking_number?: string;
}
export interface CancelOrderRequest {
  reason?: string;
}

/** Operators' signals: the same effect as the API's calls; a refused one is noted in the memo. */
export const shipOrderSignal = defineSignal<[ShipRequest?]>('shipOrder');
export const deliverOrderSignal = defineSignal<[]>('deliverOrder');
export const cancelOrderSignal = defineSignal<[CancelOrderRequest?]>('cancelOrder');

/**
 * The API's calls. Updates rather than signals because the caller must learn whether the move
 * was allowed: a validator refuses an impossible one before it enters history
 * (`order_not_cancellable`, `conflict`), and the update completes once the move is recorded
 * (for a cancel, once the refund and the restock are done too).
 */
export interface OrderMoveRequest {
  /** Who asks: `user:42`, `admin:1`. Kept in the order's status history. */
  actor: string;
  tracking_number?: string | undefined;
  reason?: string | undefined;
}
export const shipOrderUpdate = defineUpdate<OrderJson, [OrderMoveRequest]>('ship');
export const deliverOrderUpdate = defineUpdate<OrderJson, [OrderMoveRequest]>('deliver');
export const cancelOrderUpdate = defineUpdate<OrderJson, [OrderMoveRequest]>('cancel');
