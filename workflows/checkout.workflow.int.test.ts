import { ApplicationFailure } from '@temporalio/common';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toActivityFailure } from '../activities/failures.js';
import { AppError } from '../lib/errors.js';
import { taskQueue } from '../lib/task-queues.js';
import {
  type CheckoutStack,
  type CheckoutStackOptions,
  checkoutBody,
  ledgerOf,
  type Shopper,
  startCheckoutStack,
} from '../test/support/checkout.js';
import { createTestDatabase, type TestDatabase } from '../test/support/db.js';
import { expectProblem } from '../test/support/problem.js';
import { connectTestRedis, userIdSource, waitFor } from '../test/support/redis.js';
import {
  createTemporalTestContext,
  type TemporalTestContext,
  temporalCli,
} from '../test/support/temporal.js';
import type { QueueActivities } from '../workers/workers.js';
import { paymentConfirmedSignal } from './checkout.contract.js';
import { releaseExpiredReservationsWorkflow } from './maintenance.workflow.js';

let db: TestDatabase;
let redis: Redis | undefined;
let temporal: TemporalTestContext;
const stacks: CheckoutStack[] = [];
const nextUser = userIdSource();
let productCount = 0;
let keyCount = 0;

beforeAll(async () => {
  [db, temporal] = await Promise.all([createTestDatabase(), createTemporalTestContext()]);
  redis = connectTestRedis();
});
afterAll(async () => {
  await Promise.allSettled(stacks.map((stack) => stack.stop()));
  redis?.disconnect();
  await Promise.allSettled([db?.destroy(), temporal?.close()]);
});

async function stackWith(options: Partial<CheckoutStackOptions> = {}): Promise<CheckoutStack> {
  const stack = await startCheckoutStack({ db, redis, temporal, ...options });
  stacks.push(stack);
  return stack;
}

const newKey = () => ({ 'Idempotency-Key': `wf-${process.pid}-${++keyCount}` });

async function buyer(
  stack: CheckoutStack,
  stock = 10,
  quantity = 2,
): Promise<{ shopper: Shopper; product: number }> {
  productCount += 1;
  const { product } = await stack.services.catalog.create({
    name: `Saga item ${productCount}`,
    priceCents: 2500,
    stock,
  });
  const shopper = await stack.shopper(nextUser());
  expect((await shopper.add(product.id, quantity)).status).toBe(201);
  return { shopper, product: product.id };
}

/** Replaces one activity of a queue with one that refuses for good. */
function failing<Q extends keyof QueueActivities>(
  queue: Q,
  name: keyof QueueActivities[Q],
  error: () => Error,
): (real: QueueActivities) => QueueActivities {
  return (real) => ({
    ...real,
    [queue]: {
      ...real[queue],
      [name]: async () => {
        throw toActivityFailure(error());
      },
    },
  });
}

describe('compensations: each step that fails undoes the ones before it', () => {
  it('a failure after authorization (the reservation was lost): voided, stock back, cart intact', async () => {
    const stack = await stackWith({
      activities: failing('inventory', 'commitStock', () =>
        ApplicationFailure.create({
          message: 'the reservation was released',
          type: 'reservation_expired',
          nonRetryable: true,
        }),
      ),
    });
    const { shopper, product } = await buyer(stack);
    const problem = await expectProblem(await shopper.checkout({}, newKey()), 409, 'reservation_expired');
    const id = problem.checkout_id as string;
    expect(await ledgerOf(db, id)).toMatchObject({
      checkout: { status: 'FAILED', failure_code: 'reservation_expired' },
      payment: { status: 'VOIDED', captured_cents: 0 },
      operations: { AUTHORIZE: { outcome: 'SUCCEEDED' }, VOID: { outcome: 'SUCCEEDED' } },
      reservations: ['RELEASED'],
      orders: [],
    });
    expect(await stack.services.inventory.getStock(product)).toMatchObject({ onHand: 10, reserved: 0 });
    expect((await shopper.cart()).cart).toEqual([
      expect.objectContaining({ product_id: product, quantity: 2 }),
    ]);
  });

  it('a capture refused after the order exists: order cancelled, authorization voided, sold stock put back', async () => {
    const stack = await stackWith({
      activities: failing(
        'payments',
        'capturePayment',
        () =>
          new AppError('payment_declined', 'the capture was refused', { extra: { reason: 'CARD_EXPIRED' } }),
      ),
    });
    const { shopper, product } = await buyer(stack);
    const problem = await expectProblem(await shopper.checkout({}, newKey()), 402, 'payment_declined');
    expect(problem.reason).toBe('CARD_EXPIRED');
    const ledger = await ledgerOf(db, problem.checkout_id as string);
    expect(ledger).toMatchObject({
      checkout: { status: 'FAILED', failure_code: 'payment_declined' },
      payment: { status: 'VOIDED', captured_cents: 0 },
      reservations: ['COMMITTED'],
      orders: [{ status: 'CANCELLED' }],
      restocked: 1,
    });
    expect(await stack.services.inventory.getStock(product)).toMatchObject({ onHand: 10, reserved: 0 });
    expect((await shopper.cart()).cart).toHaveLength(1);
  });

  it('a failure after capture: refunded in full, order cancelled, stock back, cart intact', async () => {
    const stack = await stackWith({
      activities: failing('checkout', 'completeCheckout', () =>
        ApplicationFailure.create({
          message: 'the cart store refused',
          type: 'CartStoreCorrupt',
          nonRetryable: true,
        }),
      ),
    });
    const { shopper, product } = await buyer(stack, 10, 3);
    const problem = await expectProblem(await shopper.checkout({}, newKey()), 500, 'internal_error');
    expect(JSON.stringify(problem)).not.toContain('CartStoreCorrupt');
    const id = problem.checkout_id as string;
    expect(await ledgerOf(db, id)).toMatchObject({
      checkout: { status: 'FAILED', failure_code: 'internal_error' },
      payment: { status: 'REFUNDED', captured_cents: 7500, refunded_cents: 7500 },
      operations: { CAPTURE: { outcome: 'SUCCEEDED' }, REFUND: { outcome: 'SUCCEEDED' } },
      providerCalls: { authorize: 1, capture: 1, refund: 1 },
      orders: [{ status: 'CANCELLED' }],
      restocked: 1,
    });
    expect(await stack.services.inventory.getStock(product)).toMatchObject({ onHand: 10, reserved: 0 });
    expect((await shopper.cart()).cart).toEqual([
      expect.objectContaining({ product_id: product, quantity: 3 }),
    ]);
    const [history] = await db.sql<{ actor: string; to_status: string }[]>`
      select h.actor, h.to_status from order_status_history h join orders o on o.id = h.order_id
      where o.checkout_id = ${id} and h.to_status = 'CANCELLED'`;
    expect(history).toEqual({ actor: 'checkout-saga', to_status: 'CANCELLED' });
  });
});

describe('payment provider behaviour', () => {
  it('tok_processingError: the provider fails, then loses an answer, and the retries charge exactly once', async () => {
    const stack = await stackWith();
    const { shopper } = await buyer(stack);
    const response = await shopper.checkout({ payment_token: 'tok_processingError' }, newKey());
    const body = await checkoutBody(response);
    expect(response.status, JSON.stringify(body)).toBe(201);
    expect(await ledgerOf(db, body.checkout_id)).toMatchObject({
      payment: { status: 'CAPTURED', captured_cents: 5000 },
      operations: {
        AUTHORIZE: { outcome: 'SUCCEEDED', attempts: 3 },
        CAPTURE: { outcome: 'SUCCEEDED', attempts: 3 },
      },
      providerCalls: { authorize: 1, capture: 1 },
      orders: [{ status: 'CONFIRMED' }],
    });
    const history = await stack.workflow(body.checkout_id).fetchHistory();
    const attempts = (history.events ?? [])
      .filter((event) => event.activityTaskStartedEventAttributes)
      .map((event) => event.activityTaskStartedEventAttributes?.attempt);
    expect(attempts).toContain(3);
  });

  it('PAYMENT_FAILURE_RATE 1 refuses every otherwise good card with a reason, and nothing is held', async () => {
    const stack = await stackWith({ paymentFailureRate: 1 });
    const { shopper, product } = await buyer(stack);
    const problem = await expectProblem(await shopper.checkout({}, newKey()), 402, 'payment_declined');
    expect([
      'NO_FUNDS',
      'CARD_DECLINED',
      'CARD_EXPIRED',
      'INVALID_CCV',
      'NETWORK_ERROR',
      'UNKNOWN',
    ]).toContain(problem.reason);
    expect(await stack.services.inventory.getStock(product)).toMatchObject({ onHand: 10, reserved: 0 });
  });
});

describe('3-D Secure deadline and operators', () => {
  it('expires with the reservation: 409 reservation_expired, authorization voided, stock back', async () => {
    const stack = await stackWith({ reservationTtlMs: 1_500 });
    const { shopper, product } = await buyer(stack);
    const started = Date.now();
    const response = await shopper.checkout({ payment_token: 'tok_threeDSecure' }, newKey());
    expect(response.status).toBe(202);
    const { checkout_id: id } = await checkoutBody(response);
    await waitFor(
      'the checkout to expire',
      async () => (await checkoutBody(await shopper.get(id))).status === 'FAILED',
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    expect(await checkoutBody(await shopper.get(id))).toMatchObject({
      failure: { code: 'reservation_expired' },
    });
    expect(await ledgerOf(db, id)).toMatchObject({
      payment: { status: 'VOIDED' },
      reservations: ['RELEASED'],
    });
    expect(await stack.services.inventory.getStock(product)).toMatchObject({ onHand: 10, reserved: 0 });
    // A confirmation after the deadline changes nothing.
    await stack
      .workflow(id)
      .signal(paymentConfirmedSignal, {})
      .catch(() => undefined);
    expect((await ledgerOf(db, id)).payment?.status).toBe('VOIDED');
  });

  it('ignores a malformed confirmation, noting why in the history, and takes the next good one', async () => {
    const stack = await stackWith();
    const { shopper } = await buyer(stack);
    const { checkout_id: id } = await checkoutBody(
      await shopper.checkout({ payment_token: 'tok_threeDSecure' }, newKey()),
    );
    await temporalCli([
      'workflow',
      'signal',
      '--workflow-id',
      `checkout-${id}`,
      '--name',
      'paymentConfirmed',
      '--input',
      '{"approved":"yes"}',
    ]);
    await waitFor('the refusal to be noted', async () => {
      const memo = (await stack.workflow(id).describe()).memo ?? {};
      return String(memo.ignoredSignal ?? '').includes('"approved" must be true or false');
    });
    expect(await checkoutBody(await shopper.get(id))).toMatchObject({ status: 'PAYMENT_PENDING' });
    await stack.workflow(id).signal(paymentConfirmedSignal, {});
    await waitFor(
      'the checkout to complete',
      async () => (await checkoutBody(await shopper.get(id))).status === 'COMPLETED',
    );
  });

  it('an operator cancelling the workflow with `temporal workflow cancel` cancels the checkout and cleans up', async () => {
    const stack = await stackWith();
    const { shopper, product } = await buyer(stack);
    const { checkout_id: id } = await checkoutBody(
      await shopper.checkout({ payment_token: 'tok_threeDSecure' }, newKey()),
    );
    await temporalCli(['workflow', 'cancel', '--workflow-id', `checkout-${id}`]);
    await waitFor(
      'the checkout to be cancelled',
      async () => (await checkoutBody(await shopper.get(id))).status === 'CANCELLED',
    );
    expect(await ledgerOf(db, id)).toMatchObject({
      checkout: { failure_code: 'checkout_cancelled' },
      payment: { status: 'VOIDED' },
      reservations: ['RELEASED'],
    });
    expect(await stack.services.inventory.getStock(product)).toMatchObject({ onHand: 10, reserved: 0 });
  });

  it('housekeeping settles a checkout whose saga an operator terminated: stock back, payment voided, FAILED', async () => {
    const stack = await stackWith();
    const { shopper, product } = await buyer(stack);
    const { checkout_id: id } = await checkoutBody(
      await shopper.checkout({ payment_token: 'tok_threeDSecure' }, newKey()),
    );
    await stack.workflow(id).terminate('operator: stuck, testing housekeeping');
    expect(await stack.services.inventory.getStock(product)).toMatchObject({ reserved: 2 });

    const housekeeping = () =>
      temporal.client.workflow.execute(releaseExpiredReservationsWorkflow, {
        taskQueue: taskQueue(stack.prefix, 'maintenance'),
        workflowId: `housekeeping-${id}-${Date.now()}`,
      });
    // Recently touched: left alone, its saga may only be slow.
    expect((await housekeeping()).settled).not.toContain(id);
    expect((await ledgerOf(db, id)).checkout?.status).toBe('PAYMENT_PENDING');
    await db.sql`update checkouts set updated_at = now() - interval '1 hour' where id = ${id}`;

    expect((await housekeeping()).settled).toContain(id);
    expect(await ledgerOf(db, id)).toMatchObject({
      checkout: { status: 'FAILED', failure_code: 'reservation_expired' },
      payment: { status: 'VOIDED' },
      reservations: ['RELEASED'],
    });
    expect(await stack.services.inventory.getStock(product)).toMatchObject({ onHand: 10, reserved: 0 });
    expect((await housekeeping()).settled).not.toContain(id);
  });

  it('housekeeping leaves a long-waiting checkout alone while its saga runs', async () => {
    const stack = await stackWith();
    const { shopper } = await buyer(stack);
    const { checkout_id: id } = await checkoutBody(
      await shopper.checkout({ payment_token: 'tok_threeDSecure' }, newKey()),
    );
    await db.sql`update checkouts set updated_at = now() - interval '1 hour' where id = ${id}`;
    const result = await temporal.client.workflow.execute(releaseExpiredReservationsWorkflow, {
      taskQueue: taskQueue(stack.prefix, 'maintenance'),
      workflowId: `housekeeping-${id}`,
    });
    expect(result.settled).not.toContain(id);
    await stack.workflow(id).signal(paymentConfirmedSignal, {});
    await waitFor(
      'the checkout to complete',
      async () => (await checkoutBody(await shopper.get(id))).status === 'COMPLETED',
    );
  });
});
