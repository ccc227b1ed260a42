import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CheckoutStack, checkoutBody, startCheckoutStack } from '../../test/support/checkout.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.js';
import { connectTestRedis, userIdSource } from '../../test/support/redis.js';
import { createTemporalTestContext, type TemporalTestContext } from '../../test/support/temporal.js';

let db: TestDatabase;
let redis: Redis | undefined;
let temporal: TemporalTestContext;
let stack: CheckoutStack;
const nextUser = userIdSource();

beforeAll(async () => {
  [db, temporal] = await Promise.all([createTestDatabase(), createTemporalTestContext()]);
  redis = connectTestRedis();
  stack = await startCheckoutStack({ db, redis, temporal });
});
afterAll(async () => {
  await stack?.stop();
  redis?.disconnect();
  await Promise.allSettled([db?.destroy(), temporal?.close()]);
});

describe('POST /api/v1/checkout', () => {
  it('completes a checkout: 201 with the order', async () => {
    const shopper = await stack.shopper(nextUser());
    expect((await shopper.add(1, 2)).status).toBe(201);
    const response = await shopper.checkout({}, { 'Idempotency-Key': 'smoke-1' });
    const body = await checkoutBody(response);
    expect(response.status, JSON.stringify(body)).toBe(201);
    expect(body.status).toBe('COMPLETED');
    expect(body.order_id).toMatch(/^[0-9a-f-]{36}$/);
  });
});
