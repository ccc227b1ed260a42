import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FixedClock } from '../../lib/clock.js';
import { isAppError } from '../../lib/errors.js';
import { createTestServices } from '../../test/support/app.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.js';
import { rejection } from '../../test/support/errors.js';
import type { Services } from '../index.js';
import type { StockLevel, StockLine } from './inventory.service.js';

const START = '2026-03-01T12:00:00.000Z';
const MINUTE = 60_000;

let db: TestDatabase;
let clock: FixedClock;
let services: Services;

beforeAll(async () => {
  db = await createTestDatabase();
  clock = new FixedClock(START);
  services = createTestServices({ db, clock });
});
afterAll(async () => {
  await db?.destroy();
});

const inventory = () => services.inventory;
let productCount = 0;

async function newProduct(stock: number): Promise<number> {
  productCount += 1;
  const { product } = await services.catalog.create({
    name: `Inventory item ${productCount}`,
    priceCents: 1000 + productCount,
    stock,
  });
  return product.id;
}

const stockOf = (productId: number) => inventory().getStock(productId);
const stocksOf = (ids: readonly number[]) => Promise.all(ids.map(stockOf));

/** Units in RESERVED reservation rows of a product: must always equal inventory.reserved. */
async function liveReservedUnits(productId: number): Promise<number> {
  const [row] = await db.sql<{ units: string }[]>`
    select coalesce(sum(quantity), 0)::text as units from reservations
    where product_id = ${productId} and status = 'RESERVED'`;
  return Number(row?.units);
}

async function reservationStatuses(checkoutId: string): Promise<string[]> {
  const rows = await db.sql<{ status: string }[]>`
    select status from reservations where checkout_id = ${checkoutId} order by product_id`;
  return rows.map((row) => row.status);
}

async function expectConsistent(ids: readonly number[]): Promise<void> {
  for (const id of ids) {
    const level = await stockOf(id);
    expect(level.reserved).toBe(await liveReservedUnits(id));
    expect(level.available).toBe(level.onHand - level.reserved);
  }
}

const level = (productId: number, onHand: number, reserved: number): StockLevel => ({
  productId,
  onHand,
  reserved,
  available: onHand - reserved,
});

describe('getStock and setOnHand', () => {
  it('reads the seeded stock', async () => {
    expect(await stockOf(2)).toEqual(level(2, 500, 0));
    expect(await stocksOf([1, 3, 4, 5])).toEqual([
      level(1, 100, 0),
      level(3, 300, 0),
      level(4, 150, 0),
      level(5, 200, 0),
    ]);
  });

  it('reports an unknown product as not_found', async () => {
    expect((await rejection(stockOf(987_654))).code).toBe('not_found');
    expect((await rejection(inventory().setOnHand(987_654, 5))).code).toBe('not_found');
  });

  it('sets on_hand and records each change as an ADJUSTMENT movement', async () => {
    const id = await newProduct(10);
    expect(await inventory().setOnHand(id, 25)).toEqual(level(id, 25, 0));
    expect(await inventory().setOnHand(id, 25)).toEqual(level(id, 25, 0));
    expect(await inventory().setOnHand(id, 4)).toEqual(level(id, 4, 0));
    const movements = await db.sql<{ delta: number; reason: string }[]>`
      select delta, reason from stock_movements where product_id = ${id} order by created_at, id`;
    expect(movements).toEqual([
      { delta: 15, reason: 'ADJUSTMENT' },
      { delta: -21, reason: 'ADJUSTMENT' },
    ]);
  });

  it('refuses to set on_hand below the reserved units, and accepts exactly the reserved units', async () => {
    const id = await newProduct(10);
    await inventory().reserve(randomUUID(), [{ productId: id, quantity: 6 }], MINUTE);
    const refused = await rejection(inventory().setOnHand(id, 5));
    expect(refused.code).toBe('conflict');
    expect(await stockOf(id)).toEqual(level(id, 10, 6));
    expect(await inventory().setOnHand(id, 6)).toEqual(level(id, 6, 6));
  });

  it('rejects impossible counts', async () => {
    const id = await newProduct(3);
    for (const onHand of [-1, 1.5, Number.NaN, 2 ** 31]) {
      expect((await rejection(inventory().setOnHand(id, onHand))).code).toBe('invalid_argument');
    }
    expect(await stockOf(id)).toEqual(level(id, 3, 0));
  });
});

describe('reserve', () => {
  it('holds all lines, summed per product, until the ttl', async () => {
    const [a, b] = [await newProduct(10), await newProduct(5)];
    const checkoutId = randomUUID();
    const reservation = await inventory().reserve(
      checkoutId,
      [
        { productId: b, quantity: 2 },
        { productId: a, quantity: 3 },
        { productId: b, quantity: 1 },
      ],
      5 * MINUTE,
    );
    expect(reservation).toEqual({
      checkoutId,
      status: 'RESERVED',
      expiresAt: new Date(Date.parse(START) + 5 * MINUTE),
      lines: [
        { productId: a, quantity: 3 },
        { productId: b, quantity: 3 },
      ],
    });
    expect(await stocksOf([a, b])).toEqual([level(a, 10, 3), level(b, 5, 3)]);
    expect(await inventory().getReservation(checkoutId)).toEqual(reservation);
    await expectConsistent([a, b]);
  });

  it('returns the same reservation when repeated, sequentially and concurrently, without holding more', async () => {
    const [a, b] = [await newProduct(10), await newProduct(10)];
    const checkoutId = randomUUID();
    const lines = [
      { productId: a, quantity: 2 },
      { productId: b, quantity: 4 },
    ];
    const first = await inventory().reserve(checkoutId, lines, MINUTE);
    clock.advance(1_000);
    for (let i = 0; i < 3; i++) {
      // The same quantities in another order and split differently are the same reservation.
      expect(
        await inventory().reserve(
          checkoutId,
          [
            { productId: b, quantity: 1 },
            { productId: a, quantity: 2 },
            { productId: b, quantity: 3 },
          ],
          MINUTE,
        ),
      ).toEqual(first);
    }
    const concurrent = await Promise.all(
      Array.from({ length: 5 }, () => inventory().reserve(checkoutId, lines, MINUTE)),
    );
    for (const reservation of concurrent) expect(reservation).toEqual(first);
    expect(await stocksOf([a, b])).toEqual([level(a, 10, 2), level(b, 10, 4)]);
    await expectConsistent([a, b]);
  });

  it('reserves once when the first calls for a checkout race each other', async () => {
    const id = await newProduct(10);
    const checkoutId = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        inventory().reserve(checkoutId, [{ productId: id, quantity: 3 }], MINUTE),
      ),
    );
    expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
    expect(await stockOf(id)).toEqual(level(id, 10, 3));
    await expectConsistent([id]);
  });

  it('refuses other quantities for a checkout that already reserved', async () => {
    const [a, b] = [await newProduct(10), await newProduct(10)];
    const checkoutId = randomUUID();
    await inventory().reserve(checkoutId, [{ productId: a, quantity: 2 }], MINUTE);
    for (const lines of [
      [{ productId: a, quantity: 3 }],
      [
        { productId: a, quantity: 2 },
        { productId: b, quantity: 1 },
      ],
      [{ productId: b, quantity: 2 }],
    ]) {
      expect((await rejection(inventory().reserve(checkoutId, lines, MINUTE))).code).toBe('conflict');
    }
    expect(await stocksOf([a, b])).toEqual([level(a, 10, 2), level(b, 10, 0)]);
  });

  it('reserves nothing when any product is short, and names every short product', async () => {
    const [plenty, short1, short2] = [await newProduct(50), await newProduct(2), await newProduct(1)];
    const checkoutId = randomUUID();
    const failure = await rejection(
      inventory().reserve(
        checkoutId,
        [
          { productId: short2, quantity: 2 },
          { productId: plenty, quantity: 5 },
          { productId: short1, quantity: 2 },
          { productId: short1, quantity: 1 },
        ],
        MINUTE,
      ),
    );
    expect(failure).toEqual({
      code: 'insufficient_stock',
      extra: {
        products: [
          { product_id: short1, requested: 3, available: 2 },
          { product_id: short2, requested: 2, available: 1 },
        ],
      },
    });
    expect(await stocksOf([plenty, short1, short2])).toEqual([
      level(plenty, 50, 0),
      level(short1, 2, 0),
      level(short2, 1, 0),
    ]);
    expect(await inventory().getReservation(checkoutId)).toBeUndefined();

    // Nothing was left behind: the same checkout succeeds once there is stock.
    await inventory().setOnHand(short1, 3);
    await inventory().setOnHand(short2, 2);
    const retried = await inventory().reserve(
      checkoutId,
      [
        { productId: short2, quantity: 2 },
        { productId: plenty, quantity: 5 },
        { productId: short1, quantity: 3 },
      ],
      MINUTE,
    );
    expect(retried.status).toBe('RESERVED');
    expect(await stocksOf([plenty, short1, short2])).toEqual([
      level(plenty, 50, 5),
      level(short1, 3, 3),
      level(short2, 2, 2),
    ]);
  });

  it('counts stock held by other checkouts as unavailable', async () => {
    const id = await newProduct(5);
    await inventory().reserve(randomUUID(), [{ productId: id, quantity: 4 }], MINUTE);
    const failure = await rejection(
      inventory().reserve(randomUUID(), [{ productId: id, quantity: 2 }], MINUTE),
    );
    expect(failure).toEqual({
      code: 'insufficient_stock',
      extra: { products: [{ product_id: id, requested: 2, available: 1 }] },
    });
    await inventory().reserve(randomUUID(), [{ productId: id, quantity: 1 }], MINUTE);
    expect(await stockOf(id)).toEqual(level(id, 5, 5));
  });

  it('refuses deleted and unknown products as product_unavailable, which wins over a shortage', async () => {
    const [live, deleted, short] = [await newProduct(10), await newProduct(10), await newProduct(1)];
    await services.catalog.softDelete(deleted);
    const unknown = 987_001;
    const failure = await rejection(
      inventory().reserve(
        randomUUID(),
        [
          { productId: live, quantity: 1 },
          { productId: unknown, quantity: 1 },
          { productId: short, quantity: 2 },
          { productId: deleted, quantity: 1 },
        ],
        MINUTE,
      ),
    );
    expect(failure).toEqual({
      code: 'product_unavailable',
      extra: {
        products: [
          { product_id: deleted, requested: 1, available: 0 },
          { product_id: short, requested: 2, available: 1 },
          { product_id: unknown, requested: 1, available: 0 },
        ],
      },
    });
    expect(
      (await rejection(inventory().reserve(randomUUID(), [{ productId: deleted, quantity: 1 }], MINUTE)))
        .code,
    ).toBe('product_unavailable');
    expect(await stocksOf([live, deleted, short])).toEqual([
      level(live, 10, 0),
      level(deleted, 10, 0),
      level(short, 1, 0),
    ]);
  });

  it('rejects malformed requests without touching stock', async () => {
    const id = await newProduct(10);
    const bad: Array<[string, StockLine[], number]> = [
      [randomUUID(), [], MINUTE],
      [randomUUID(), [{ productId: id, quantity: 0 }], MINUTE],
      [randomUUID(), [{ productId: id, quantity: -1 }], MINUTE],
      [randomUUID(), [{ productId: id, quantity: 1.5 }], MINUTE],
      [randomUUID(), [{ productId: 0, quantity: 1 }], MINUTE],
      [
        randomUUID(),
        [
          { productId: id, quantity: 2 ** 30 },
          { productId: id, quantity: 2 ** 30 },
        ],
        MINUTE,
      ],
      ['not-a-uuid', [{ productId: id, quantity: 1 }], MINUTE],
      [randomUUID(), [{ productId: id, quantity: 1 }], 0],
    ];
    for (const [checkoutId, lines, ttl] of bad) {
      expect((await rejection(inventory().reserve(checkoutId, lines, ttl))).code).toBe('invalid_argument');
    }
    expect(await stockOf(id)).toEqual(level(id, 10, 0));
  });
});

describe('commit', () => {
  it('takes committed stock off on_hand for good, once, however often it is repeated', async () => {
    const [a, b] = [await newProduct(10), await newProduct(10)];
    const checkoutId = randomUUID();
    const lines = [
      { productId: a, quantity: 2 },
      { productId: b, quantity: 3 },
    ];
    const reserved = await inventory().reserve(checkoutId, lines, MINUTE);
    const committed = await inventory().commit(checkoutId);
    expect(committed).toEqual({ ...reserved, status: 'COMMITTED' });
    expect(await stocksOf([a, b])).toEqual([level(a, 8, 0), level(b, 7, 0)]);

    for (let i = 0; i < 3; i++) expect(await inventory().commit(checkoutId)).toEqual(committed);
    const concurrent = await Promise.all(Array.from({ length: 5 }, () => inventory().commit(checkoutId)));
    for (const result of concurrent) expect(result).toEqual(committed);
    // A late reserve retry reports the committed reservation and holds nothing more.
    expect(await inventory().reserve(checkoutId, lines, MINUTE)).toEqual(committed);
    // Committed lines are not released.
    expect(await inventory().release(checkoutId)).toEqual({ released: 0 });
    expect(await stocksOf([a, b])).toEqual([level(a, 8, 0), level(b, 7, 0)]);
    expect(await reservationStatuses(checkoutId)).toEqual(['COMMITTED', 'COMMITTED']);
    await expectConsistent([a, b]);
  });

  it('commits once when commits race each other from the start', async () => {
    const id = await newProduct(10);
    const checkoutId = randomUUID();
    await inventory().reserve(checkoutId, [{ productId: id, quantity: 4 }], MINUTE);
    const results = await Promise.all(Array.from({ length: 5 }, () => inventory().commit(checkoutId)));
    for (const result of results) expect(result.status).toBe('COMMITTED');
    expect(await stockOf(id)).toEqual(level(id, 6, 0));
  });

  it('reports an unknown checkout as not_found', async () => {
    expect((await rejection(inventory().commit(randomUUID()))).code).toBe('not_found');
  });

  it('refuses a released reservation with reservation_expired', async () => {
    const id = await newProduct(10);
    const checkoutId = randomUUID();
    await inventory().reserve(checkoutId, [{ productId: id, quantity: 4 }], MINUTE);
    await inventory().release(checkoutId);
    expect((await rejection(inventory().commit(checkoutId))).code).toBe('reservation_expired');
    expect(await stockOf(id)).toEqual(level(id, 10, 0));
    expect(await reservationStatuses(checkoutId)).toEqual(['RELEASED']);
  });

  it('commits a reservation past its expiry that no sweep has released yet', async () => {
    const id = await newProduct(10);
    const checkoutId = randomUUID();
    await inventory().reserve(checkoutId, [{ productId: id, quantity: 4 }], MINUTE);
    clock.advance(2 * MINUTE);
    expect((await inventory().commit(checkoutId)).status).toBe('COMMITTED');
    expect(await stockOf(id)).toEqual(level(id, 6, 0));
  });
});

describe('release', () => {
  it('returns reserved stock once, however often it is repeated', async () => {
    const [a, b] = [await newProduct(10), await newProduct(10)];
    const checkoutId = randomUUID();
    await inventory().reserve(
      checkoutId,
      [
        { productId: b, quantity: 5 },
        { productId: a, quantity: 1 },
      ],
      MINUTE,
    );
    expect(await inventory().release(checkoutId)).toEqual({ released: 2 });
    expect(await stocksOf([a, b])).toEqual([level(a, 10, 0), level(b, 10, 0)]);
    for (let i = 0; i < 3; i++) expect(await inventory().release(checkoutId)).toEqual({ released: 0 });
    const concurrent = await Promise.all(Array.from({ length: 5 }, () => inventory().release(checkoutId)));
    expect(concurrent).toEqual(Array.from({ length: 5 }, () => ({ released: 0 })));
    expect(await stocksOf([a, b])).toEqual([level(a, 10, 0), level(b, 10, 0)]);
    // A late reserve retry reports the released reservation rather than reserving again.
    const late = await inventory().reserve(
      checkoutId,
      [
        { productId: a, quantity: 1 },
        { productId: b, quantity: 5 },
      ],
      MINUTE,
    );
    expect(late.status).toBe('RELEASED');
    expect(await stocksOf([a, b])).toEqual([level(a, 10, 0), level(b, 10, 0)]);
    await expectConsistent([a, b]);
  });

  it('releases once when releases race each other from the start', async () => {
    const id = await newProduct(10);
    const checkoutId = randomUUID();
    await inventory().reserve(checkoutId, [{ productId: id, quantity: 4 }], MINUTE);
    const results = await Promise.all(Array.from({ length: 5 }, () => inventory().release(checkoutId)));
    expect(results.map((r) => r.released).sort()).toEqual([0, 0, 0, 0, 1]);
    expect(await stockOf(id)).toEqual(level(id, 10, 0));
  });

  it('is harmless for a checkout that never reserved', async () => {
    expect(await inventory().release(randomUUID())).toEqual({ released: 0 });
  });

  it('leaves a marker so a reserve arriving after the release holds nothing', async () => {
    const id = await newProduct(10);
    const checkoutId = randomUUID();
    // The saga gave up and compensated while its first reserve attempt was still on its way.
    expect(await inventory().release(checkoutId)).toEqual({ released: 0 });
    const late = await rejection(inventory().reserve(checkoutId, [{ productId: id, quantity: 4 }], MINUTE));
    expect(late.code).toBe('reservation_expired');
    expect(await stockOf(id)).toEqual(level(id, 10, 0));
    expect(await inventory().getReservation(checkoutId)).toBeUndefined();
  });

  it('lets a reserve and a release racing from the start end with nothing held', async () => {
    const id = await newProduct(50);
    const ids = Array.from({ length: 20 }, () => randomUUID());
    await Promise.all(
      ids.flatMap((checkoutId) => [
        inventory()
          .reserve(checkoutId, [{ productId: id, quantity: 2 }], MINUTE)
          .catch(() => undefined),
        inventory().release(checkoutId),
      ]),
    );
    expect(await stockOf(id)).toEqual(level(id, 50, 0));
    await expectConsistent([id]);
  });
});

describe('returnStock', () => {
  it('releases what is reserved and puts committed stock back once', async () => {
    const [a, b] = [await newProduct(10), await newProduct(10)];
    const reservedOnly = randomUUID();
    const sold = randomUUID();
    await inventory().reserve(reservedOnly, [{ productId: a, quantity: 2 }], MINUTE);
    await inventory().reserve(
      sold,
      [
        { productId: a, quantity: 3 },
        { productId: b, quantity: 4 },
      ],
      MINUTE,
    );
    await inventory().commit(sold);
    expect(await stocksOf([a, b])).toEqual([level(a, 7, 2), level(b, 6, 0)]);

    expect(await inventory().returnStock(reservedOnly)).toEqual({ released: 1, restocked: 0 });
    const results = await Promise.all(Array.from({ length: 5 }, () => inventory().returnStock(sold)));
    expect(results.filter((r) => r.restocked > 0)).toEqual([{ released: 0, restocked: 2 }]);
    expect(await inventory().returnStock(sold)).toEqual({ released: 0, restocked: 0 });

    expect(await stocksOf([a, b])).toEqual([level(a, 10, 0), level(b, 10, 0)]);
    const movements = await db.sql<{ product_id: string; delta: number }[]>`
      select product_id, delta from stock_movements where reference = ${sold} and reason = 'RESTOCK'
      order by product_id`;
    expect(movements.map((m) => [Number(m.product_id), m.delta])).toEqual([
      [a, 3],
      [b, 4],
    ]);
    // The sale stays recorded as a sale; the movement records that it came back.
    expect(await reservationStatuses(sold)).toEqual(['COMMITTED', 'COMMITTED']);
    expect(
      (await rejection(inventory().reserve(randomUUID(), [{ productId: a, quantity: 11 }], MINUTE))).code,
    ).toBe('insufficient_stock');
    await expectConsistent([a, b]);
  });

  it('is harmless for a checkout that never reserved, and refuses its later reserve', async () => {
    const id = await newProduct(5);
    const checkoutId = randomUUID();
    expect(await inventory().returnStock(checkoutId)).toEqual({ released: 0, restocked: 0 });
    const late = await rejection(inventory().reserve(checkoutId, [{ productId: id, quantity: 1 }], MINUTE));
    expect(late.code).toBe('reservation_expired');
    expect(await stockOf(id)).toEqual(level(id, 5, 0));
  });

  it('forgets release markers older than asked, not younger ones', async () => {
    const old = randomUUID();
    await inventory().release(old);
    clock.advance(25 * 60 * MINUTE);
    const recent = randomUUID();
    await inventory().release(recent);
    await db.sql`update reservation_releases set created_at = ${clock.now().toISOString()}::timestamptz - interval '1 minute' where checkout_id = ${recent}`;
    await db.sql`update reservation_releases set created_at = ${clock.now().toISOString()}::timestamptz - interval '25 hours' where checkout_id = ${old}`;
    const { pruned } = await inventory().pruneReleaseMarkers(24 * 60 * MINUTE);
    expect(pruned).toBeGreaterThanOrEqual(1);
    const left = await db.sql<{ checkout_id: string }[]>`
      select checkout_id from reservation_releases where checkout_id in (${old}, ${recent})`;
    expect(left.map((row) => row.checkout_id)).toEqual([recent]);
  });
});

describe('releaseExpired', () => {
  beforeEach(async () => {
    // Earlier tests leave live reservations behind; sweep them so each test sees only its own.
    await inventory().releaseExpired({ now: new Date('2100-01-01T00:00:00Z'), limit: 10_000 });
    clock.set(START);
  });

  it('expires reservations past expires_at plus grace, leaving live and committed ones alone', async () => {
    const id = await newProduct(100);
    const [soon, later, committed] = [randomUUID(), randomUUID(), randomUUID()];
    await inventory().reserve(soon, [{ productId: id, quantity: 1 }], MINUTE);
    await inventory().reserve(later, [{ productId: id, quantity: 2 }], 3 * MINUTE);
    await inventory().reserve(committed, [{ productId: id, quantity: 4 }], MINUTE);
    await inventory().commit(committed);
    expect(await stockOf(id)).toEqual(level(id, 96, 3));

    clock.advance(MINUTE - 1);
    expect(await inventory().releaseExpired()).toEqual({ released: 0, checkoutIds: [] });
    clock.advance(1);
    // Still inside the grace period.
    expect(await inventory().releaseExpired({ graceMs: 30_000 })).toEqual({ released: 0, checkoutIds: [] });
    expect(await inventory().releaseExpired()).toEqual({ released: 1, checkoutIds: [soon] });
    expect(await stockOf(id)).toEqual(level(id, 96, 2));
    expect(await inventory().releaseExpired()).toEqual({ released: 0, checkoutIds: [] });

    expect((await rejection(inventory().commit(soon))).code).toBe('reservation_expired');
    expect(await inventory().release(soon)).toEqual({ released: 0 });
    expect((await inventory().getReservation(soon))?.status).toBe('EXPIRED');
    expect((await inventory().getReservation(committed))?.status).toBe('COMMITTED');

    // An explicit `now` wins over the clock.
    expect(await inventory().releaseExpired({ now: new Date(Date.parse(START) + 3 * MINUTE) })).toEqual({
      released: 1,
      checkoutIds: [later],
    });
    expect(await stockOf(id)).toEqual(level(id, 96, 0));
    await expectConsistent([id]);
  });

  it('releases whole checkouts, at most `limit` per call, oldest first', async () => {
    const [a, b] = [await newProduct(100), await newProduct(100)];
    const checkouts = [randomUUID(), randomUUID(), randomUUID()];
    for (const [i, checkoutId] of checkouts.entries()) {
      await inventory().reserve(
        checkoutId,
        [
          { productId: a, quantity: 1 },
          { productId: b, quantity: 2 },
        ],
        MINUTE + i,
      );
    }
    clock.advance(10 * MINUTE);
    const first = await inventory().releaseExpired({ limit: 2 });
    expect(first.released).toBe(4);
    expect(first.checkoutIds.sort()).toEqual(checkouts.slice(0, 2).sort());
    expect(await stocksOf([a, b])).toEqual([level(a, 100, 1), level(b, 100, 2)]);
    expect(await inventory().releaseExpired({ limit: 2 })).toEqual({
      released: 2,
      checkoutIds: checkouts.slice(2),
    });
    expect(await stocksOf([a, b])).toEqual([level(a, 100, 0), level(b, 100, 0)]);
  });

  it('skips a checkout whose commit is in flight, and the commit then succeeds', async () => {
    const id = await newProduct(10);
    const checkoutId = randomUUID();
    await inventory().reserve(checkoutId, [{ productId: id, quantity: 3 }], MINUTE);
    clock.advance(2 * MINUTE);

    // Another transaction holds the stock row, so the commit stops half-way, its reservation locked.
    const blocker = await db.sql.reserve();
    try {
      await blocker`begin`;
      await blocker`select 1 from inventory where product_id = ${id} for update`;
      const commit = inventory().commit(checkoutId);
      await waitForLockWaiters(1);
      expect(await inventory().releaseExpired()).toEqual({ released: 0, checkoutIds: [] });
      await blocker`commit`;
      expect((await commit).status).toBe('COMMITTED');
    } finally {
      blocker.release();
    }
    expect(await stockOf(id)).toEqual(level(id, 7, 0));
    expect(await inventory().releaseExpired()).toEqual({ released: 0, checkoutIds: [] });
  });

  it('never half-expires a checkout while commits and sweeps race', async () => {
    const ids = [await newProduct(1000), await newProduct(1000), await newProduct(1000)];
    const checkouts = Array.from({ length: 30 }, (_, i) => ({
      id: randomUUID(),
      lines: ids.slice(i % 3).map((productId) => ({ productId, quantity: 1 + (i % 4) })),
    }));
    for (const checkout of checkouts) await inventory().reserve(checkout.id, checkout.lines, MINUTE);
    const before = await stocksOf(ids);
    clock.advance(2 * MINUTE);

    const commits = checkouts.map((checkout) =>
      inventory()
        .commit(checkout.id)
        .then(
          () => 'COMMITTED',
          (error: unknown) => {
            if (isAppError(error) && error.code === 'reservation_expired') return 'EXPIRED';
            throw error;
          },
        ),
    );
    const sweeps = Array.from({ length: 4 }, () => inventory().releaseExpired({ limit: 5 }));
    const [outcomes, swept] = await Promise.all([Promise.all(commits), Promise.all(sweeps)]);
    await inventory().releaseExpired();

    const sweptIds = new Set(swept.flatMap((s) => s.checkoutIds));
    const committedUnits = new Map<number, number>();
    for (const [i, checkout] of checkouts.entries()) {
      const statuses = await reservationStatuses(checkout.id);
      expect(new Set(statuses)).toEqual(new Set([outcomes[i]]));
      if (outcomes[i] === 'COMMITTED') {
        expect(sweptIds.has(checkout.id)).toBe(false);
        for (const line of checkout.lines) {
          committedUnits.set(line.productId, (committedUnits.get(line.productId) ?? 0) + line.quantity);
        }
      }
    }
    expect(await stocksOf(ids)).toEqual(
      before.map((s) => level(s.productId, s.onHand - (committedUnits.get(s.productId) ?? 0), 0)),
    );
    await expectConsistent(ids);
  });

  it('rejects nonsensical options', async () => {
    for (const options of [{ graceMs: -1 }, { limit: 0 }, { limit: 1.5 }, { now: new Date(Number.NaN) }]) {
      expect((await rejection(inventory().releaseExpired(options))).code).toBe('invalid_argument');
    }
  });
});

describe('restock', () => {
  it('puts a cancelled order back on hand exactly once', async () => {
    const [a, b] = [await newProduct(10), await newProduct(10)];
    const checkoutId = randomUUID();
    const orderId = randomUUID();
    await inventory().reserve(
      checkoutId,
      [
        { productId: a, quantity: 2 },
        { productId: b, quantity: 3 },
      ],
      MINUTE,
    );
    await inventory().commit(checkoutId);
    expect(await stocksOf([a, b])).toEqual([level(a, 8, 0), level(b, 7, 0)]);

    const lines = [
      { productId: b, quantity: 1 },
      { productId: a, quantity: 2 },
      { productId: b, quantity: 2 },
    ];
    expect(await inventory().restock(orderId, lines)).toEqual({ restocked: true });
    expect(await stocksOf([a, b])).toEqual([level(a, 10, 0), level(b, 10, 0)]);
    for (let i = 0; i < 3; i++)
      expect(await inventory().restock(orderId, lines)).toEqual({ restocked: false });
    const concurrent = await Promise.all(
      Array.from({ length: 5 }, () => inventory().restock(orderId, lines)),
    );
    expect(concurrent).toEqual(Array.from({ length: 5 }, () => ({ restocked: false })));
    expect(await stocksOf([a, b])).toEqual([level(a, 10, 0), level(b, 10, 0)]);

    const movements = await db.sql<{ product_id: string; delta: number }[]>`
      select product_id::text, delta from stock_movements
      where reason = 'RESTOCK' and reference = ${orderId} order by product_id`;
    expect(movements).toEqual([
      { product_id: String(a), delta: 2 },
      { product_id: String(b), delta: 3 },
    ]);
  });

  it('restocks once when restocks race each other from the start', async () => {
    const id = await newProduct(0);
    const orderId = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 5 }, () => inventory().restock(orderId, [{ productId: id, quantity: 4 }])),
    );
    expect(results.filter((r) => r.restocked)).toHaveLength(1);
    expect(await stockOf(id)).toEqual(level(id, 4, 0));
  });

  it('refuses an unknown product and changes nothing', async () => {
    const id = await newProduct(5);
    const orderId = randomUUID();
    const failure = await rejection(
      inventory().restock(orderId, [
        { productId: id, quantity: 1 },
        { productId: 987_002, quantity: 1 },
      ]),
    );
    expect(failure.code).toBe('not_found');
    expect(await stockOf(id)).toEqual(level(id, 5, 0));
    expect(await inventory().restock(orderId, [{ productId: id, quantity: 1 }])).toEqual({ restocked: true });
  });
});

/** Waits, with a deadline, until `count` sessions of this database are blocked on a lock. */
async function waitForLockWaiters(count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [row] = await db.sql<{ waiting: number }[]>`
      select count(*)::int as waiting from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock'`;
    if ((row?.waiting ?? 0) >= count) return;
    if (Date.now() > deadline) throw new Error(`no session started waiting on a lock within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
