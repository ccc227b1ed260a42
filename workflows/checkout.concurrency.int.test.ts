import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CheckoutStack, checkoutBody, ledgerOf, startCheckoutStack } from '../test/support/checkout.js';
import { createTestDatabase, type TestDatabase } from '../test/support/db.js';
import { connectTestRedis, userIdSource } from '../test/support/redis.js';
import { createTemporalTestContext, type TemporalTestContext } from '../test/support/temporal.js';

let db: TestDatabase;
let redis: Redis | undefined;
let temporal: TemporalTestContext;
let stack: CheckoutStack;
const nextUser = userIdSource();

beforeAll(async () => {
  [db, temporal] = await Promise.all([createTestDatabase({ max: 20 }), createTemporalTestContext()]);
  redis = connectTestRedis();
  stack = await startCheckoutStack({ db, redis, temporal, waitMs: 60_000 });
});
afterAll(async () => {
  await stack?.stop();
  redis?.disconnect();
  await Promise.allSettled([db?.destroy(), temporal?.close()]);
});

async function newProduct(stock: number): Promise<number> {
  const { product } = await stack.services.catalog.create({
    name: `Race item ${stock}`,
    priceCents: 999,
    stock,
  });
  return product.id;
}

describe('checkouts under concurrency', () => {
  it('10 parallel POSTs with one key make one checkout, one order and one charge', async () => {
    const product = await newProduct(10);
    const shopper = await stack.shopper(nextUser());
    await shopper.add(product, 2);
    const responses = await Promise.all(
      Array.from({ length: 10 }, () =>
        shopper.checkout({ payment_token: 'tok_visa' }, { 'Idempotency-Key': 'same-key' }),
      ),
    );
    const bodies = await Promise.all(responses.map(checkoutBody));
    expect(responses.map((r) => r.status)).toEqual(Array.from({ length: 10 }, () => 201));
    const ids = new Set(bodies.map((body) => body.checkout_id));
    const orders = new Set(bodies.map((body) => body.order_id));
    expect([ids.size, orders.size]).toEqual([1, 1]);
    const [id] = ids;
    expect(await ledgerOf(db, id as string)).toMatchObject({
      providerCalls: { authorize: 1, capture: 1 },
      orders: [{ status: 'CONFIRMED' }],
      reservations: ['COMMITTED'],
    });
    const [count] = await db.sql<
      { n: number }[]
    >`select count(*)::int as n from checkouts where user_id = ${shopper.userId}`;
    expect(count?.n).toBe(1);
    expect(await stack.services.inventory.getStock(product)).toMatchObject({ onHand: 8, reserved: 0 });
  });

  it('50 buyers racing for the last 5 units: exactly 5 orders, 45 insufficient_stock, stock zero, nothing held', async () => {
    const product = await newProduct(5);
    const shoppers = await Promise.all(Array.from({ length: 50 }, () => stack.shopper(nextUser())));
    for (const shopper of shoppers) expect((await shopper.add(product, 1)).status).toBe(201);

    const responses = await Promise.all(
      shoppers.map((shopper, i) => shopper.checkout({}, { 'Idempotency-Key': `last-units-${i}` })),
    );
    const bodies = await Promise.all(responses.map(checkoutBody));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(5);
    expect(statuses.filter((s) => s === 409)).toHaveLength(45);
    expect(bodies.filter((b) => b.code === 'insufficient_stock')).toHaveLength(45);

    expect(await stack.services.inventory.getStock(product)).toEqual({
      productId: product,
      onHand: 0,
      reserved: 0,
      available: 0,
    });
    const [orders] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from order_items where product_id = ${product}`;
    expect(orders?.n).toBe(5);
    const [held] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from reservations where product_id = ${product} and status = 'RESERVED'`;
    expect(held?.n).toBe(0);
    const [charged] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from payments p join checkouts c on c.id = p.checkout_id
      join lateral jsonb_array_elements(c.lines) line on (line->>'productId')::bigint = ${product}
      where p.status = 'CAPTURED'`;
    expect(charged?.n).toBe(5);
    // The five buyers who got the units have empty carts; the others keep theirs.
    const carts = await Promise.all(shoppers.map(async (shopper) => (await shopper.cart()).cart.length));
    expect(carts.filter((n) => n === 0)).toHaveLength(5);
  });

  it('two keys for one cart at once never buy the same lines twice', async () => {
    const product = await newProduct(20);
    for (let round = 0; round < 5; round++) {
      const shopper = await stack.shopper(nextUser());
      await shopper.add(product, 3);
      const responses = await Promise.all([
        shopper.checkout({}, { 'Idempotency-Key': `first-${round}` }),
        shopper.checkout({}, { 'Idempotency-Key': `second-${round}` }),
      ]);
      const bodies = await Promise.all(responses.map(checkoutBody));
      const completed = bodies.filter((body) => body.status === 'COMPLETED');
      expect(completed, JSON.stringify(bodies)).toHaveLength(1);
      const other = bodies.find((body) => body.status !== 'COMPLETED');
      expect(other?.code).toBe('checkout_in_progress');
      const [charges] = await db.sql<{ n: number }[]>`
        select count(*)::int as n from payments p join checkouts c on c.id = p.checkout_id
        where c.user_id = ${shopper.userId} and p.status = 'CAPTURED'`;
      expect(charges?.n).toBe(1);
    }
    expect(await stack.services.inventory.getStock(product)).toMatchObject({ onHand: 5, reserved: 0 });
  });
});
