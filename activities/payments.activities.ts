import type { DeclineReason } from '../lib/checkout.js';
import type { CheckoutService } from '../services/checkout/checkout.service.js';
import type { Payment, PaymentsService } from '../services/payments/payments.service.js';
import { withBusinessFailures } from './failures.js';

export interface PaymentActivityDeps {
  payments: PaymentsService;
  checkouts: CheckoutService;
}

/** What the saga needs to know of an authorization. */
export interface AuthorizationResult {
  paymentId: string;
  status: 'AUTHORIZED' | 'REQUIRES_CONFIRMATION' | 'DECLINED';
  declineReason: DeclineReason | null;
}

function authorizationResult(payment: Payment): AuthorizationResult {
  const status = payment.status;
  if (status !== 'AUTHORIZED' && status !== 'REQUIRES_CONFIRMATION' && status !== 'DECLINED') {
    throw new Error(`payment ${payment.id} is ${status}, past authorization`);
  }
  return { paymentId: payment.id, status, declineReason: payment.declineReason };
}

/** Activities of the payments task queue. Provider idempotency keys derive from the checkout id. */
export function createPaymentActivities(deps: PaymentActivityDeps) {
  async function recordAuthorization(checkoutId: string, result: AuthorizationResult): Promise<void> {
    if (result.status === 'AUTHORIZED') await deps.checkouts.advance(checkoutId, 'PAYMENT_COMPLETED');
    if (result.status === 'REQUIRES_CONFIRMATION')
      await deps.checkouts.advance(checkoutId, 'PAYMENT_PENDING');
  }

  return withBusinessFailures({
    /**
     * Authorizes the checkout's total and records the checkout as PAYMENT_COMPLETED, or
     * PAYMENT_PENDING while 3-D Secure awaits the customer. A refusal is a result, not an error.
     * Idempotent per checkout; provider outages are retried. Undone by voidPayment.
     */
    async authorizePayment(input: {
      checkoutId: string;
      userId: number;
      amountCents: number;
      currency: string;
      paymentMethod: string;
    }): Promise<AuthorizationResult> {
      const result = authorizationResult(await deps.payments.authorize(input));
      await recordAuthorization(input.checkoutId, result);
      return result;
    },

    /** Applies the customer's 3-D Secure answer to a pending authorization. Idempotent. */
    async confirmPayment(input: {
      checkoutId: string;
      approved: boolean;
      reason?: DeclineReason | undefined;
    }): Promise<AuthorizationResult> {
      const payment = await deps.payments.confirm(input.checkoutId, {
        approved: input.approved,
        ...(input.reason ? { reason: input.reason } : {}),
      });
      const result = authorizationResult(payment);
      await recordAuthorization(input.checkoutId, result);
      return result;
    },

    /** Captures the authorized amount. Idempotent: one capture per checkout. Undone by refundPayment. */
    async capturePayment(checkoutId: string): Promise<void> {
      await deps.payments.capture(checkoutId);
    },

    /** Compensation of authorizePayment: voids an authorization not captured. Idempotent. */
    async voidPayment(checkoutId: string): Promise<void> {
      await deps.payments.void(checkoutId);
    },

    /** Compensation of capturePayment: refunds a captured payment in full, once. Idempotent. */
    async refundPayment(checkoutId: string): Promise<void> {
      await deps.payments.refund(checkoutId);
    },
  });
}

export type PaymentActivities = ReturnType<typeof createPaymentActivities>;
