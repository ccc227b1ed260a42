import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CheckoutStack, checkoutBody, ledgerOf, startCheckoutStack } from '../test/support/checkout.js';
import { createTestDatabase, type TestDatabase } from '../test/support/db.js';
import { type PlatformProcess, startPlatformProcess } from '../test/support/platform-process.js';
import { connectTestRedis, testRedisUrl, userIdSource, waitFor } from '../test/support/redis.js';
import {
  createTemporalTestContext,
  deleteTestSchedules,
  type TemporalTestContext,
} from '../test/support/temporal.js';
import { paymentConfirmedSignal } from './checkout.contract.js';

let db: TestDatabase;
let redis: Redis | undefined;
let temporal: TemporalTestContext;
let stack: CheckoutStack;
const workers: PlatformProcess[] = [];
const nextUser = userIdSource();

beforeAll(async () => {
  [db, temporal] = await Promise.all([createTestDatabase(), createTemporalTestContext()]);
  redis = connectTestRedis();
  // The API in this process; the workers in child processes this test kills.
  stack = await startCheckoutStack({ db, redis, temporal, noWorkers: true, waitMs: 2_000 });
});
afterAll(async () => {
  await Promise.allSettled(workers.map((worker) => worker.kill()));
  if (temporal) await deleteTestSchedules(stack.prefix, temporal.client);
  redis?.disconnect();
  await Promise.allSettled([db?.destroy(), temporal?.close()]);
});

async function worker(): Promise<PlatformProcess> {
  const started = await startPlatformProcess('worker', {
    databaseUrl: db.url,
    redisUrl: testRedisUrl(),
    taskQueuePrefix: stack.prefix,
  });
  workers.push(started);
  return started;
}

async function newBuyer(quantity: number) {
  const { product } = await stack.services.catalog.create({
    name: 'Crash item',
    priceCents: 4200,
    stock: 10,
  });
  const shopper = await stack.shopper(nextUser());
  await shopper.add(product.id, quantity);
  return { shopper, product: product.id };
}

const statusOf = async (shopper: Awaited<ReturnType<typeof newBuyer>>['shopper'], id: string) =>
  (await checkoutBody(await shopper.get(id))).status;

describe('the worker process killed with SIGKILL in the middle of a checkout', () => {
  it('a new worker finishes a checkout that was waiting for 3-D Secure, with one reservation and one charge', async () => {
    const first = await worker();
    const { shopper, product } = await newBuyer(2);
    const response = await shopper.checkout(
      { payment_token: 'tok_threeDSecure' },
      { 'Idempotency-Key': 'crash-3ds' },
    );
    const { checkout_id: id } = await checkoutBody(response);
    await waitFor(
      'the saga to wait for 3-D Secure',
      async () => (await statusOf(shopper, id)) === 'PAYMENT_PENDING',
      {
        timeoutMs: 30_000,
      },
    );
    await first.kill();

    await stack.workflow(id).signal(paymentConfirmedSignal, {});
    await worker();
    await waitFor('the checkout to complete', async () => (await statusOf(shopper, id)) === 'COMPLETED', {
      timeoutMs: 60_000,
    });
    const ledger = await ledgerOf(db, id);
    expect(ledger).toMatchObject({
      reservations: ['COMMITTED'],
      payment: { status: 'CAPTURED', captured_cents: 8400 },
      operations: { AUTHORIZE: { attempts: 1 }, CAPTURE: { outcome: 'SUCCEEDED' } },
      providerCalls: { authorize: 1, capture: 1 },
      orders: [{ status: 'CONFIRMED' }],
    });
    expect(await stack.services.inventory.getStock(product)).toMatchObject({ onHand: 8, reserved: 0 });
    expect((await shopper.cart()).cart).toEqual([]);
  });

  it('a new worker finishes a checkout killed while the payment provider was being retried, charging once', async () => {
    const first = workers.at(-1) ?? (await worker());
    const { shopper, product } = await newBuyer(1);
    const response = await shopper.checkout(
      { payment_token: 'tok_processingError' },
      { 'Idempotency-Key': 'crash-retry', Prefer: 'respond-async' },
    );
    const { checkout_id: id } = await checkoutBody(response);
    // Kill as soon as the provider has been called once: the saga is mid-way through its retries.
    await waitFor(
      'the first provider call',
      async () => (await ledgerOf(db, id)).operations.AUTHORIZE !== undefined,
      {
        timeoutMs: 30_000,
        intervalMs: 10,
      },
    );
    await first.kill();
    await worker();
    await waitFor('the checkout to complete', async () => (await statusOf(shopper, id)) === 'COMPLETED', {
      timeoutMs: 90_000,
    });
    expect(await ledgerOf(db, id)).toMatchObject({
      reservations: ['COMMITTED'],
      payment: { status: 'CAPTURED', captured_cents: 4200 },
      providerCalls: { authorize: 1, capture: 1 },
      orders: [{ status: 'CONFIRMED' }],
    });
    const [reservations] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from reservations where checkout_id = ${id}`;
    expect(reservations?.n).toBe(1);
    expect(await stack.services.inventory.getStock(product)).toMatchObject({ onHand: 9, reserved: 0 });
  });
});
