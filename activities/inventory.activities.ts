import type { CheckoutLine } from '../lib/checkout.js';
import { AppError } from '../lib/errors.js';
import type { CheckoutService } from '../services/checkout/checkout.service.js';
import type { InventoryService } from '../services/inventory/inventory.service.js';
import { withBusinessFailures } from './failures.js';

export interface InventoryActivityDeps {
  inventory: InventoryService;
  checkouts: CheckoutService;
  /** How long a checkout's stock is held (RESERVATION_TTL). */
  reservationTtlMs: number;
  /** Extra time a checkout saga gets to release its own expired reservation before the sweeper does. */
  sweepGraceMs: number;
}

/** No reserve attempt outlives a day: release markers older than that are pruned by the sweep. */
const RELEASE_MARKER_RETENTION_MS = 86_400_000;

/** Activities of the inventory task queue. */
export function createInventoryActivities(deps: InventoryActivityDeps) {
  return withBusinessFailures({
    /**
     * Holds the checkout's lines for RESERVATION_TTL, all or nothing, and records the checkout as
     * INVENTORY_RESERVED. Idempotent per checkout; `insufficient_stock`, `product_unavailable`, or
     * `reservation_expired` once the checkout was compensated. Undone by returnStock.
     */
    async reserveStock(input: {
      checkoutId: string;
      lines: Pick<CheckoutLine, 'productId' | 'quantity'>[];
    }): Promise<{ expiresAt: string }> {
      const reservation = await deps.inventory.reserve(
        input.checkoutId,
        input.lines.map(({ productId, quantity }) => ({ productId, quantity })),
        deps.reservationTtlMs,
      );
      if (reservation.status === 'RELEASED' || reservation.status === 'EXPIRED') {
        throw new AppError(
          'reservation_expired',
          `the reservation of checkout ${input.checkoutId} has ended`,
        );
      }
      await deps.checkouts.advance(input.checkoutId, 'INVENTORY_RESERVED', {
        reservationExpiresAt: reservation.expiresAt,
      });
      return { expiresAt: reservation.expiresAt.toISOString() };
    },

    /** Turns the checkout's reserved stock into sold stock. Idempotent; `reservation_expired` once released. Undone by returnStock. */
    async commitStock(checkoutId: string): Promise<void> {
      await deps.inventory.commit(checkoutId);
    },

    /** Compensation of reserve and commit: releases held stock and puts sold stock back, once. Idempotent. */
    async returnStock(checkoutId: string): Promise<{ released: number; restocked: number }> {
      return deps.inventory.returnStock(checkoutId);
    },

    /** Returns the stock of reservations past expiry (plus grace) that their saga did not release. Idempotent. */
    async releaseExpiredReservations(): Promise<{ released: number; checkoutIds: string[] }> {
      let released = 0;
      const checkoutIds = new Set<string>();
      for (;;) {
        const batch = await deps.inventory.releaseExpired({ graceMs: deps.sweepGraceMs });
        released += batch.released;
        for (const id of batch.checkoutIds) checkoutIds.add(id);
        if (batch.released === 0) break;
      }
      await deps.inventory.pruneReleaseMarkers(RELEASE_MARKER_RETENTION_MS);
      return { released, checkoutIds: [...checkoutIds] };
    },
  });
}

export type InventoryActivities = ReturnType<typeof createInventoryActivities>;
