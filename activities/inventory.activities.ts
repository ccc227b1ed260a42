import type { InventoryService } from '../services/inventory/inventory.service.js';
import { withBusinessFailures } from './failures.js';

export interface InventoryActivityDeps {
  inventory: InventoryService;
  /** Extra time a checkout saga gets to release its own expired reservation before the sweeper does. */
  sweepGraceMs: number;
}

/** Activities of the inventory task queue. */
export function createInventoryActivities(deps: InventoryActivityDeps) {
  return withBusinessFailures({
    /** Returns the stock of reservations past expiry (plus grace) that their saga did not release. Idempotent. */
    async releaseExpiredReservations(): Promise<{ released: number; checkoutIds: string[] }> {
      let released = 0;
      const checkoutIds = new Set<string>();
      for (;;) {
        const batch = await deps.inventory.releaseExpired({ graceMs: deps.sweepGraceMs });
        released += batch.released;
        for (const id of batch.checkoutIds) checkoutIds.add(id);
        if (batch.released === 0) return { released, checkoutIds: [...checkoutIds] };
      }
    },
  });
}

export type InventoryActivities = ReturnType<typeof createInventoryActivities>;
