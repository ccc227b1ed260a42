import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, jsonRequest, type TestApp, userToken } from '../test/support/app.js';
import { createTestDatabase, type TestDatabase } from '../test/support/db.js';
import { expectProblem } from '../test/support/problem.js';

/**
 * A request never waits without bound: a lock held elsewhere makes it fail within
 * `lock_timeout` (or the edge's request deadline, whichever comes first) with 503 `timeout`, and
 * the pool serves the next requests as soon as the lock is gone.
 */
let db: TestDatabase;
let holder: postgres.Sql;

beforeAll(async () => {
  db = await createTestDatabase({ max: 3, lockTimeoutMs: 400, statementTimeoutMs: 5_000 });
  holder = postgres(db.url, { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await holder?.end({ timeout: 1 });
  await db?.destroy();
});

/** Holds a FOR UPDATE lock on the user's cart row until the returned function is called. */
async function lockCart(userId: number, client: postgres.Sql = holder): Promise<() => Promise<void>> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => {
    locked = resolve;
  });
  const transaction = client.begin(async (tx) => {
    await tx`select id from carts where user_id = ${userId} for update`;
    locked();
    await released;
  });
  await isLocked;
  return async () => {
    release();
    await transaction;
  };
}

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await work();
  return { result, ms: performance.now() - started };
}

describe('bounded waits', () => {
  it('a request blocked by a row lock fails with 503 timeout within lock_timeout, and the pool recovers', async () => {
    const testApp: TestApp = createTestApp({ db });
    const userId = 7_001;
    const headers = bearer(await userToken(userId));
    const add = (quantity: number) =>
      testApp.app.request('/api/v1/cart/items', jsonRequest('POST', { product_id: 1, quantity }, headers));
    expect((await add(1)).status).toBe(201);

    const unlock = await lockCart(userId);
    // More blocked requests than the pool has connections: none of them may starve the others for long.
    const blocked = await timed(() => Promise.all(Array.from({ length: 5 }, (_, i) => add(i + 2))));
    for (const response of blocked.result) {
      const problem = await expectProblem(response, 503, 'timeout');
      expect(response.headers.get('retry-after')).toBe('1');
      expect(problem.detail).toMatch(/waited too long/);
    }
    expect(blocked.ms).toBeLessThan(5_000);
    // Reads that need no lock are not held up meanwhile.
    expect((await testApp.app.request('/api/v1/products/1')).status).toBe(200);
    await unlock();

    expect((await add(9)).status).toBe(201);
    const cart = (await (await testApp.app.request('/api/v1/cart', { headers })).json()) as {
      cart: unknown[];
    };
    expect(cart.cart).toEqual([expect.objectContaining({ product_id: 1, quantity: 9 })]);
  });

  it('the edge answers 503 timeout at its deadline even while the database still waits', async () => {
    const slow = await createTestDatabase({ max: 2, lockTimeoutMs: 10_000 });
    try {
      const testApp = createTestApp({ db: slow, requestTimeoutMs: 300 });
      const userId = 7_002;
      const headers = bearer(await userToken(userId));
      const add = async () =>
        testApp.app.request(
          '/api/v1/cart/items',
          jsonRequest('POST', { product_id: 2, quantity: 1 }, headers),
        );
      expect((await add()).status).toBe(201);
      const lockHolder = postgres(slow.url, { max: 1, onnotice: () => {} });
      const unlock = await lockCart(userId, lockHolder);
      const { result, ms } = await timed(add);
      await expectProblem(result, 503, 'timeout');
      expect(ms).toBeLessThan(2_000);
      await unlock();
      await lockHolder.end({ timeout: 1 });
      expect((await add()).status).toBe(201);
    } finally {
      await slow.destroy();
    }
  });
});
