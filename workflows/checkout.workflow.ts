import {
  ApplicationFailure,
  allHandlersFinished,
  CancellationScope,
  condition,
  isCancellation,
  patched,
  setHandler,
  startChild,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { CheckoutActivities } from '../activities/checkout.activities.js';
import type { InventoryActivities } from '../activities/inventory.activities.js';
import type { OrderActivities } from '../activities/orders.activities.js';
import type { AuthorizationResult, PaymentActivities } from '../activities/payments.activities.js';
import {
  type CheckoutFailure,
  type CheckoutJson,
  type CheckoutRecord,
  formatAmount,
  purchaseSummary,
} from '../lib/checkout.js';
import { OrderIdKey, OrderStatusKey, TotalCentsKey, UserIdKey } from '../lib/search-attributes.js';
import { siblingQueue } from '../lib/task-queues.js';
import { activitiesOn, compensation, databaseSteps, providerCall, settlement } from './activity-options.js';
import {
  awaitOutcomeUpdate,
  type CheckoutInput,
  cancelCheckoutSignal,
  getStatusQuery,
  paymentConfirmedSignal,
  requestCancelUpdate,
} from './checkout.contract.js';
import { CheckoutState } from './checkout.state.js';
import { checkoutFailureOf, confirmationProblem, rejectUpdate, utcTime } from './failures.js';
import { ORDER_WORKFLOW_TYPE, orderWorkflowId } from './order.contract.js';
import { Compensations } from './saga.js';

/**
 * The checkout saga: snapshot the cart, reserve stock, authorize payment (waiting for 3-D Secure
 * when asked), commit stock, create the order, capture, remove the purchased lines. Every undo is
 * registered before its step; a failure or a cancellation before the order exists unwinds them
 * and records the checkout FAILED or CANCELLED. Returns the final `Checkout`.
 */
export async function checkoutWorkflow(input: CheckoutInput): Promise<CheckoutJson> {
  // Versioned: sagas started before the short Postgres steps became local activities replay as
  // they ran, each step scheduled on its service's queue.
  const local = patched('local-saga-steps');
  const checkouts = databaseSteps<CheckoutActivities>('checkout', local);
  const inventory = databaseSteps<InventoryActivities>('inventory', local);
  const payments = activitiesOn<PaymentActivities>('payments', providerCall);
  const settle = activitiesOn<PaymentActivities>('payments', settlement);
  const orders = databaseSteps<OrderActivities>('orders', local);
  const undoInventory = activitiesOn<InventoryActivities>('inventory', compensation);
  const undoPayments = activitiesOn<PaymentActivities>('payments', compensation);
  const undoOrders = activitiesOn<OrderActivities>('orders', compensation);
  const undoCheckouts = activitiesOn<CheckoutActivities>('checkout', compensation);

  const { checkoutId } = input;
  const state = new CheckoutState(input, workflowInfo().startTime);

  setHandler(getStatusQuery, () => state.json(), {
    description: 'The checkout, as GET /api/v1/checkout/{id} shows it',
  });
  setHandler(
    awaitOutcomeUpdate,
    async ({ until }) => {
      await condition(() => (until === 'opened' ? state.isRecorded || state.isFinal : state.hasOutcome));
      return state.json();
    },
    {
      description: 'The API waits here for the outcome of its request',
      validator: ({ requestHash }) => {
        if (requestHash !== input.requestHash) {
          rejectUpdate('idempotency_key_reused', 'this idempotency key was used for a different request');
        }
      },
    },
  );
  setHandler(
    requestCancelUpdate,
    async (request) => {
      state.requestCancel(request);
      await condition(() => state.isFinal);
      return state.json();
    },
    {
      description: "The API's cancel: refused once the order is being created",
      validator: (_request) => {
        const refusal = state.cancelRefusal();
        if (refusal) rejectUpdate('checkout_not_cancellable', refusal);
      },
    },
  );
  setHandler(
    cancelCheckoutSignal,
    (request = {}) => {
      const refusal = state.cancelRefusal();
      if (refusal) upsertMemo({ ignoredSignal: `cancelCheckout ignored: ${refusal}` });
      else state.requestCancel(request);
    },
    { description: 'Cancel while no order exists. Input {} or {"reason": "..."}' },
  );
  setHandler(
    paymentConfirmedSignal,
    (confirmation = {}) => {
      const refusal = confirmationProblem(confirmation) ?? state.confirmationRefusal();
      if (refusal) upsertMemo({ ignoredSignal: `paymentConfirmed ignored: ${refusal}` });
      else state.confirm(confirmation);
    },
    {
      description:
        '3-D Secure result. Input {} to approve, or {"approved": false, "reason": "CARD_DECLINED"}',
    },
  );

  const saga = new Compensations();
  try {
    const opened = await checkouts.openCheckout.executeWithOptions(
      { summary: 'Snapshot and price the cart' },
      [
        {
          checkoutId,
          userId: input.userId,
          idempotencyKey: input.idempotencyKey,
          requestHash: input.requestHash,
          shippingAddress: input.shippingAddress ?? null,
        },
      ],
    );
    state.recorded(opened);
    if (state.isFinal) return await finish(state);
    state.throwIfCancelled();

    saga.push('release stock', () =>
      undoInventory.returnStock.executeWithOptions({ summary: 'Compensate: return the stock' }, [checkoutId]),
    );
    const { expiresAt } = await inventory.reserveStock.executeWithOptions(
      { summary: `Reserve ${opened.lines.length} product(s)` },
      [{ checkoutId, lines: opened.lines }],
    );
    state.update(
      { ...state.record, status: 'INVENTORY_RESERVED', reservationExpiresAt: expiresAt },
      `Stock reserved until ${utcTime(expiresAt)}`,
    );
    state.throwIfCancelled();

    saga.push('void payment', () =>
      undoPayments.voidPayment.executeWithOptions({ summary: 'Compensate: void the authorization' }, [
        checkoutId,
      ]),
    );
    let payment = await authorize();
    if (payment.status === 'REQUIRES_CONFIRMATION') payment = await awaitConfirmation(expiresAt);
    if (payment.status === 'DECLINED') {
      throw ApplicationFailure.nonRetryable('the payment was refused', 'payment_declined', {
        reason: payment.declineReason,
      });
    }
    state.moveTo('PAYMENT_COMPLETED', 'Payment authorized');
    state.throwIfCancelled();

    await inventory.commitStock.executeWithOptions({ summary: 'Commit the reserved stock' }, [checkoutId]);

    // From here the order exists or is being created: the checkout can no longer be cancelled,
    // and an operator's cancel request must not leave it half done.
    state.beginOrder();
    await CancellationScope.nonCancellable(async () => {
      saga.push('cancel order', () =>
        undoOrders.cancelOrder.executeWithOptions({ summary: 'Compensate: cancel the order' }, [
          { checkoutId, reason: 'the checkout failed after the order was created' },
        ]),
      );
      const { orderId } = await orders.createOrder.executeWithOptions({ summary: 'Create the order' }, [
        { checkoutId, paymentId: payment.paymentId },
      ]);
      state.orderCreated(orderId);

      saga.push('refund payment', () =>
        undoPayments.refundPayment.executeWithOptions({ summary: 'Compensate: refund the capture' }, [
          checkoutId,
        ]),
      );
      await settle.capturePayment.executeWithOptions({ summary: 'Capture the payment' }, [checkoutId]);

      const completed = await checkouts.completeCheckout.executeWithOptions(
        { summary: 'Remove the purchased lines from the cart' },
        [{ checkoutId, userId: input.userId, lines: state.record.lines }],
      );
      state.ended(completed);
    });
    // Versioned: checkouts that completed before the order lifecycle existed replay without it.
    if (patched('order-lifecycle')) await startOrderLifecycle(state.record);
    return await finish(state);
  } catch (error) {
    const failure: CheckoutFailure = isCancellation(error)
      ? { code: 'checkout_cancelled', reason: null, message: 'the checkout was cancelled by an operator' }
      : checkoutFailureOf(error);
    await saga.unwind();
    const ended = await CancellationScope.nonCancellable(() =>
      undoCheckouts.failCheckout.executeWithOptions({ summary: `Record the failure: ${failure.code}` }, [
        {
          checkoutId,
          status: failure.code === 'checkout_cancelled' ? 'CANCELLED' : 'FAILED',
          failure,
        },
      ]),
    );
    state.ended(ended);
    return await finish(state);
  }

  async function authorize(): Promise<AuthorizationResult> {
    const { record } = state;
    try {
      return await payments.authorizePayment.executeWithOptions(
        { summary: `Authorize ${formatAmount(record.totalCents, record.currency)}` },
        [
          {
            checkoutId,
            userId: input.userId,
            amountCents: record.totalCents,
            currency: record.currency,
            paymentMethod: input.paymentToken ?? 'tok_visa',
          },
        ],
      );
    } catch (error) {
      if (isCancellation(error) || checkoutFailureOf(error).code !== 'internal_error') throw error;
      // The provider stayed unreachable for the whole retry budget: the payment did not go through.
      throw ApplicationFailure.nonRetryable('the payment provider did not answer', 'payment_declined', {
        reason: 'NETWORK_ERROR',
      });
    }
  }

  /** Waits for the customer's 3-D Secure answer until the reservation expires. */
  async function awaitConfirmation(expiresAt: string): Promise<AuthorizationResult> {
    const until = utcTime(expiresAt);
    state.moveTo('PAYMENT_PENDING', `Awaiting 3-D Secure confirmation until ${until}`);
    const remainingMs = Math.max(1, Date.parse(expiresAt) - Date.now());
    const answered = await condition(
      () => state.confirmation !== undefined || state.cancelRequested !== undefined,
      remainingMs,
      { summary: `3-D Secure deadline ${until}` },
    );
    state.throwIfCancelled();
    if (!answered) {
      throw ApplicationFailure.nonRetryable(
        'the payment was not confirmed before the reservation expired',
        'reservation_expired',
      );
    }
    const { approved = true, reason } = state.confirmation ?? {};
    return payments.confirmPayment.executeWithOptions(
      { summary: approved ? 'Apply the 3-D Secure approval' : 'Apply the 3-D Secure refusal' },
      [{ checkoutId, approved, reason }],
    );
  }
}

/**
 * Starts the order's lifecycle workflow, which outlives the checkout (parent close policy
 * ABANDON). One the API already started on demand is left as it is.
 */
async function startOrderLifecycle(record: CheckoutRecord): Promise<void> {
  const { orderId } = record;
  if (!orderId) return;
  try {
    await startChild(ORDER_WORKFLOW_TYPE, {
      workflowId: orderWorkflowId(orderId),
      taskQueue: siblingQueue(workflowInfo().taskQueue, 'orders'),
      args: [{ orderId }],
      parentClosePolicy: 'ABANDON',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      staticSummary: purchaseSummary('Order', {
        userId: record.userId,
        itemCount: record.lines.reduce((sum, line) => sum + line.quantity, 0),
        totalCents: record.totalCents,
        currency: record.currency,
      }),
      typedSearchAttributes: [
        { key: OrderStatusKey, value: 'CONFIRMED' },
        { key: UserIdKey, value: record.userId },
        { key: OrderIdKey, value: orderId },
        { key: TotalCentsKey, value: record.totalCents },
      ],
    });
  } catch (error) {
    // The checkout is complete whatever happens here: the API starts the lifecycle on demand.
    upsertMemo({ orderLifecycle: `not started by the checkout: ${String(error)}` });
  }
}

/** Lets update handlers that are answering deliver their result before the run closes. */
async function finish(state: CheckoutState): Promise<CheckoutJson> {
  await condition(allHandlersFinished);
  return state.json();
}
