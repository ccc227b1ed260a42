import type { CartService } from '../services/cart/cart.service.js';
import { withBusinessFailures } from './failures.js';

export interface CartActivityDeps {
  cart: CartService;
  /** Carts not written for this long are purged. */
  idleMs: number;
}

/** Activities of the carts task queue. */
export function createCartActivities(deps: CartActivityDeps) {
  return withBusinessFailures({
    /** Deletes carts idle longer than the configured time and fences their cache entries. Idempotent. */
    async purgeIdleCarts(): Promise<{ purged: number }> {
      return deps.cart.purgeIdle({ idleMs: deps.idleMs });
    },
  });
}

export type CartActivities = ReturnType<typeof createCartActivities>;
