import { log } from '@temporalio/activity';
import type { CheckoutFailure, CheckoutLine, CheckoutRecord } from '../lib/checkout.js';
import type { CartService } from '../services/cart/cart.service.js';
import type { CheckoutService, OpenCheckoutInput } from '../services/checkout/checkout.service.js';
import type { InventoryService } from '../services/inventory/inventory.service.js';
import type { OrdersService } from '../services/orders/orders.service.js';
import type { PaymentsService } from '../services/payments/payments.service.js';
import { withBusinessFailures } from './failures.js';

export interface CheckoutActivityDeps {
  checkouts: CheckoutService;
  cart: CartService;
  inventory: InventoryService;
  payments: PaymentsService;
  orders: OrdersService;
  /** Whether the saga of a checkout is still running (asks Temporal). */
  isSagaRunning(checkoutId: string): Promise<boolean>;
  /** An active checkout not written for this long, whose saga is gone, is settled by housekeeping. */
  abandonedAfterMs: number;
}

/** Activities of the checkout task queue: the checkout record and its housekeeping. */
export function createCheckoutActivities(deps: CheckoutActivityDeps) {
  return withBusinessFailures({
    /**
     * The saga's first step: snapshots and prices the cart from Postgres and records the checkout
     * (INITIATED, or FAILED when the cart cannot be bought). Idempotent per checkout id.
     */
    async openCheckout(input: OpenCheckoutInput): Promise<CheckoutRecord> {
      return deps.checkouts.open(input);
    },

    /**
     * The saga's last step: removes exactly the purchased lines from the cart (lines added or
     * changed since stay), invalidating its cache, and records the checkout COMPLETED. Idempotent.
     */
    async completeCheckout(input: {
      checkoutId: string;
      userId: number;
      lines: Pick<CheckoutLine, 'productId' | 'cartLineVersion'>[];
    }): Promise<CheckoutRecord> {
      await deps.cart.removeLines(
        input.checkoutId,
        input.userId,
        input.lines.map((line) => ({ productId: line.productId, version: line.cartLineVersion })),
      );
      return deps.checkouts.complete(input.checkoutId);
    },

    /** Records the checkout FAILED or CANCELLED with its failure, after the compensations ran. Idempotent. */
    async failCheckout(input: {
      checkoutId: string;
      status: 'FAILED' | 'CANCELLED';
      failure: CheckoutFailure;
    }): Promise<CheckoutRecord> {
      return deps.checkouts.fail(input.checkoutId, input.status, input.failure);
    },

    /**
     * Housekeeping: checkouts still active long after their last step whose saga is gone (an
     * operator terminated it) are undone as the saga would have: order cancelled, payment refunded
     * or voided, stock returned, and the checkout FAILED. Idempotent; running sagas are left alone.
     */
    async settleAbandonedCheckouts(): Promise<{ settled: string[] }> {
      const settled: string[] = [];
      for (const checkout of await deps.checkouts.listIdle(deps.abandonedAfterMs)) {
        if (await deps.isSagaRunning(checkout.id)) continue;
        const reason = 'the checkout saga ended before the checkout did';
        await deps.orders.cancelForCheckout(checkout.id, 'housekeeping', reason);
        await deps.payments.refund(checkout.id);
        await deps.payments.void(checkout.id);
        await deps.inventory.returnStock(checkout.id);
        await deps.checkouts.fail(checkout.id, 'FAILED', {
          code: 'reservation_expired',
          reason: null,
          message: `${reason}; its stock was returned and its payment reversed`,
        });
        log.warn('settled a checkout whose saga was gone', {
          checkoutId: checkout.id,
          status: checkout.status,
        });
        settled.push(checkout.id);
      }
      return { settled };
    },
  });
}

export type CheckoutActivities = ReturnType<typeof createCheckoutActivities>;
