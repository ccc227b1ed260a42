import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixedClock } from '../../lib/clock.js';
import { isAppError } from '../../lib/errors.js';
import { createTestServices } from '../../test/support/app.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.js';
import { seededRandom } from '../../test/support/random.js';
import type { Services } from '../index.js';
import type { StockLevel, StockLine } from './inventory.service.js';

const CARTS = 240;
const SCARCE_STOCK = 10;
const TTL_MS = 5 * 60_000;

let db: TestDatabase;
let services: Services;

beforeAll(async () => {
  // A pool as large as a real API process's, so the reservations really run in parallel.
  db = await createTestDatabase({ max: 20 });
  services = createTestServices({ db, clock: new FixedClock('2026-03-01T12:00:00Z') });
});
afterAll(async () => {
  await db?.destroy();
});

function shuffle<T>(items: T[], next: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

function summed(lines: readonly StockLine[]): Map<number, number> {
  const totals = new Map<number, number>();
  for (const line of lines) totals.set(line.productId, (totals.get(line.productId) ?? 0) + line.quantity);
  return totals;
}

async function liveReservedUnits(productId: number): Promise<number> {
  const [row] = await db.sql<{ units: number }[]>`
    select coalesce(sum(quantity), 0)::int as units from reservations
    where product_id = ${productId} and status = 'RESERVED'`;
  return row?.units ?? -1;
}

describe('concurrent reservations', () => {
  it('never oversell, never deadlock, and keep totals consistent through commit and release', async () => {
    const create = async (name: string, stock: number) =>
      (await services.catalog.create({ name, priceCents: 500, stock })).product.id;
    const scarce = await create('Scarce', SCARCE_STOCK);
    const limitedA = await create('Limited A', 25);
    const limitedB = await create('Limited B', 40);
    const plenty = await create('Plenty', 1_000_000);
    const productIds = [scarce, limitedA, limitedB, plenty];
    const initial = new Map(
      (await Promise.all(productIds.map((id) => services.inventory.getStock(id)))).map((s) => [
        s.productId,
        s,
      ]),
    );

    const next = seededRandom(20260301);
    const qty = () => 1 + Math.floor(next() * 3);
    const carts = Array.from({ length: CARTS }, (_, i) => {
      const lines: StockLine[] = [];
      if (i % 12 === 0) {
        // Carts whose only limited product is one scarce unit: enough of them that the last unit is always taken.
        lines.push({ productId: scarce, quantity: 1 }, { productId: plenty, quantity: qty() });
      } else {
        if (next() < 0.8) lines.push({ productId: scarce, quantity: qty() });
        if (next() < 0.5) lines.push({ productId: limitedA, quantity: qty() });
        if (next() < 0.5) lines.push({ productId: limitedB, quantity: qty() });
        if (next() < 0.5 || lines.length === 0) lines.push({ productId: plenty, quantity: qty() });
        // Some carts name a product twice, as two lines.
        const repeated = lines[Math.floor(next() * lines.length)];
        if (repeated && next() < 0.25) lines.push({ productId: repeated.productId, quantity: 1 });
      }
      return { checkoutId: randomUUID(), lines: shuffle(lines, next) };
    });
    expect(carts.filter((c) => c.lines.some((l) => l.productId === scarce)).length).toBeGreaterThan(150);
    expect(carts.some((c) => summed(c.lines).size < c.lines.length)).toBe(true);

    const results = await Promise.allSettled(
      carts.map((cart) => services.inventory.reserve(cart.checkoutId, cart.lines, TTL_MS)),
    );

    // Every failure is the business outcome: no deadlock, serialization or constraint errors.
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    for (const failure of failures) {
      expect(isAppError(failure) ? failure.code : failure).toBe('insufficient_stock');
    }
    const reserved = carts.filter((_, i) => results[i]?.status === 'fulfilled');
    expect(reserved.length + failures.length).toBe(CARTS);
    expect(failures.length).toBeGreaterThan(0);

    const reservedUnits = (productId: number, which: typeof carts) =>
      which.reduce((sum, cart) => sum + (summed(cart.lines).get(productId) ?? 0), 0);
    expect(reservedUnits(scarce, reserved)).toBe(SCARCE_STOCK);
    expect(await services.inventory.getStock(scarce)).toEqual({
      productId: scarce,
      onHand: SCARCE_STOCK,
      reserved: SCARCE_STOCK,
      available: 0,
    });
    for (const id of productIds) {
      const level = await services.inventory.getStock(id);
      expect(level.onHand).toBe(initial.get(id)?.onHand);
      expect(level.reserved).toBe(reservedUnits(id, reserved));
      expect(level.reserved).toBe(await liveReservedUnits(id));
      expect(level.reserved).toBeLessThanOrEqual(level.onHand);
    }
    // Each failed checkout left nothing behind.
    const [orphans] = await db.sql<{ count: number }[]>`
      select count(*)::int as count from reservations where checkout_id in ${db.sql(
        carts.filter((_, i) => results[i]?.status === 'rejected').map((c) => c.checkoutId),
      )}`;
    expect(orphans?.count).toBe(0);

    // Commit half, release the rest, all at once and each twice.
    const toCommit = reserved.filter((_, i) => i % 2 === 0);
    const toRelease = reserved.filter((_, i) => i % 2 === 1);
    const [commits, releases] = await Promise.all([
      Promise.all(
        toCommit.flatMap((c) => [
          services.inventory.commit(c.checkoutId),
          services.inventory.commit(c.checkoutId),
        ]),
      ),
      Promise.all(
        toRelease.flatMap((c) => [
          services.inventory.release(c.checkoutId),
          services.inventory.release(c.checkoutId),
        ]),
      ),
    ]);
    for (const reservation of commits) expect(reservation.status).toBe('COMMITTED');
    for (const [i, cart] of toRelease.entries()) {
      const released = (releases[2 * i]?.released ?? 0) + (releases[2 * i + 1]?.released ?? 0);
      expect(released).toBe(summed(cart.lines).size);
    }

    const settled = new Map<number, StockLevel>();
    for (const id of productIds) {
      const level = await services.inventory.getStock(id);
      expect(level).toEqual({
        productId: id,
        onHand: (initial.get(id)?.onHand ?? 0) - reservedUnits(id, toCommit),
        reserved: 0,
        available: (initial.get(id)?.onHand ?? 0) - reservedUnits(id, toCommit),
      });
      expect(await liveReservedUnits(id)).toBe(0);
      settled.set(id, level);
    }

    // Repeating every verb, concurrently and in any mix, changes nothing any more.
    const repeats = await Promise.allSettled([
      ...toCommit.map((c) => services.inventory.commit(c.checkoutId)),
      ...toCommit.map((c) => services.inventory.release(c.checkoutId)),
      ...toRelease.map((c) => services.inventory.release(c.checkoutId)),
      ...reserved.map((c) => services.inventory.reserve(c.checkoutId, c.lines, TTL_MS)),
      services.inventory.releaseExpired({ now: new Date('2100-01-01T00:00:00Z') }),
    ]);
    for (const repeat of repeats) expect(repeat.status).toBe('fulfilled');
    const releasedCommits = await Promise.allSettled(
      toRelease.map((c) => services.inventory.commit(c.checkoutId)),
    );
    for (const outcome of releasedCommits) {
      expect(
        outcome.status === 'rejected' && isAppError(outcome.reason) ? outcome.reason.code : outcome,
      ).toBe('reservation_expired');
    }
    for (const id of productIds) expect(await services.inventory.getStock(id)).toEqual(settled.get(id));
  });
});
