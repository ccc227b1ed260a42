import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { CheckoutJson, DeclineReason, ShippingAddress } from '../lib/checkout.js';

/**
 * The checkout saga's public surface: what the API, the `temporal` CLI and the Web UI use.
 * The workflow type, id format, query and signal names are fixed by the operator contract
 * (API.md, "Operating with the Temporal Web UI and the temporal CLI"). No logic here.
 */

export const CHECKOUT_WORKFLOW_TYPE = 'checkoutWorkflow';

export function checkoutWorkflowId(checkoutId: string): string {
  return `checkout-${checkoutId}`;
}

/** The saga's input: one serialisable object; new fields must be optional. */
export interface CheckoutInput {
  checkoutId: string;
  userId: number;
  idempotencyKey: string;
  /** Digest of the request the key was first used with (payment token, shipping address). */
  requestHash: string;
  /** A provider token such as `tok_visa`; absent means the default test card. */
  paymentToken?: string | undefined;
  shippingAddress?: ShippingAddress | undefined;
}

/** `temporal workflow query --name getStatus`: the contract's `Checkout` object. */
export const getStatusQuery = defineQuery<CheckoutJson>('getStatus');

/** 3-D Secure result: `{}` approves; `{"approved": false, "reason": "CARD_DECLINED"}` refuses. */
export interface PaymentConfirmation {
  approved?: boolean;
  reason?: DeclineReason;
}
export const paymentConfirmedSignal = defineSignal<[PaymentConfirmation?]>('paymentConfirmed');

export interface CancelRequest {
  reason?: string;
}
/** Cancels the checkout while no order exists; ignored (with a note in history) afterwards. */
export const cancelCheckoutSignal = defineSignal<[CancelRequest?]>('cancelCheckout');

/**
 * Used by the API, not operators. An update rather than a signal because the caller must learn
 * the outcome: it completes once the saga has one (completed, failed, cancelled, or waiting
 * for 3-D Secure), or, with `until: 'opened'`, once the checkout is recorded. Rejected with
 * `idempotency_key_reused` when the request differs from the one that started the saga.
 */
export interface AwaitOutcomeRequest {
  requestHash: string;
  until?: 'opened' | 'outcome';
}
export const awaitOutcomeUpdate = defineUpdate<CheckoutJson, [AwaitOutcomeRequest]>('awaitOutcome');

/**
 * The API's cancel: rejected with `checkout_not_cancellable` once the order is being created
 * or the checkout ended; otherwise completes when the checkout is CANCELLED.
 */
export const requestCancelUpdate = defineUpdate<CheckoutJson, [CancelRequest]>('requestCancel');
