import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderJson } from '../../lib/order.js';
import { OrderStatusKey } from '../../lib/search-attributes.js';
import { taskQueue } from '../../lib/task-queues.js';
import { adminToken, bearer, jsonRequest, userToken } from '../../test/support/app.js';
import {
  type CheckoutStack,
  type CheckoutStackOptions,
  checkoutBody,
  ledgerOf,
  startCheckoutStack,
} from '../../test/support/checkout.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.js';
import { expectProblem } from '../../test/support/problem.js';
import { connectTestRedis, userIdSource, waitFor } from '../../test/support/redis.js';
import {
  createTemporalTestContext,
  createTestWorkers,
  type TemporalTestContext,
  temporalCli,
  withWorkers,
} from '../../test/support/temporal.js';
import { getOrderStatusQuery, orderWorkflowId } from '../../workflows/order.contract.js';

let db: TestDatabase;
let redis: Redis | undefined;
let temporal: TemporalTestContext;
let stack: CheckoutStack;
const stacks: CheckoutStack[] = [];
const nextUser = userIdSource();
let counter = 0;

beforeAll(async () => {
  [db, temporal] = await Promise.all([createTestDatabase(), createTemporalTestContext()]);
  redis = connectTestRedis();
  stack = await stackWith();
});
afterAll(async () => {
  await Promise.allSettled(stacks.map((s) => s.stop()));
  redis?.disconnect();
  await Promise.allSettled([db?.destroy(), temporal?.close()]);
});

async function stackWith(options: Partial<CheckoutStackOptions> = {}): Promise<CheckoutStack> {
  const started = await startCheckoutStack({ db, redis, temporal, ...options });
  stacks.push(started);
  return started;
}

/** A completed checkout: the order it made and its buyer. */
async function placeOrder(on: CheckoutStack = stack, quantity = 2) {
  counter += 1;
  const { product } = await on.services.catalog.create({
    name: `Order item ${counter}`,
    priceCents: 1500,
    stock: 10,
  });
  const shopper = await on.shopper(nextUser());
  await shopper.add(product.id, quantity);
  const checkout = await checkoutBody(await shopper.checkout({}, { 'Idempotency-Key': `order-${counter}` }));
  expect(checkout.status).toBe('COMPLETED');
  const orderId = checkout.order_id as string;
  return {
    orderId,
    product: product.id,
    userId: shopper.userId,
    headers: shopper.headers,
    checkoutId: checkout.checkout_id,
  };
}

const request = (on: CheckoutStack, path: string, init?: RequestInit) => on.app.request(path, init);
const admin = async () => bearer(await adminToken(1));
const post = async (on: CheckoutStack, path: string, headers: Record<string, string>, body?: unknown) =>
  request(on, path, body === undefined ? { method: 'POST', headers } : jsonRequest('POST', body, headers));

async function orderOf(response: Response, status = 200): Promise<OrderJson> {
  const body = (await response.json()) as OrderJson;
  expect(response.status, JSON.stringify(body)).toBe(status);
  return body;
}

async function historyOf(orderId: string) {
  return stack.services.orders.history(orderId);
}

describe('the order lifecycle', () => {
  it('starts with the checkout: CONFIRMED, readable by the API and by getStatus alike', async () => {
    const { orderId, headers, checkoutId, userId } = await placeOrder();
    const order = await orderOf(await request(stack, `/api/v1/orders/${orderId}`, { headers }));
    expect(order).toMatchObject({
      id: orderId,
      checkout_id: checkoutId,
      status: 'CONFIRMED',
      items: [{ quantity: 2, price_cents: 1500, price: 15, subtotal_cents: 3000 }],
      total_cents: 3000,
      total_amount: 30,
      payment: { status: 'CAPTURED', amount_cents: 3000, refunded_cents: 0 },
      tracking_number: null,
    });
    const handle = temporal.client.workflow.getHandle(orderWorkflowId(orderId));
    await waitFor('the order workflow to answer', async () =>
      handle.query(getOrderStatusQuery).then(
        () => true,
        () => false,
      ),
    );
    expect(await handle.query(getOrderStatusQuery)).toEqual(order);
    const description = await handle.describe();
    expect(await description.staticSummary()).toBe(`Order of 2 items, 30.00 USD for user ${userId}`);
    expect(description.typedSearchAttributes.get(OrderStatusKey)).toBe('CONFIRMED');
  });

  it('ships then delivers, recording who did it; the workflow then completes', async () => {
    const { orderId, headers } = await placeOrder();
    const shipped = await orderOf(
      await post(stack, `/api/v1/orders/${orderId}/ship`, await admin(), { tracking_number: 'TRK-123' }),
    );
    expect(shipped).toMatchObject({ status: 'SHIPPED', tracking_number: 'TRK-123' });
    // The same request again is answered the same; another tracking number is a conflict.
    expect(
      (
        await orderOf(
          await post(stack, `/api/v1/orders/${orderId}/ship`, await admin(), { tracking_number: 'TRK-123' }),
        )
      ).status,
    ).toBe('SHIPPED');
    await expectProblem(
      await post(stack, `/api/v1/orders/${orderId}/ship`, await admin(), { tracking_number: 'OTHER' }),
      409,
      'conflict',
    );
    await expectProblem(
      await post(stack, `/api/v1/orders/${orderId}/cancel`, headers),
      409,
      'order_not_cancellable',
    );

    const delivered = await orderOf(await post(stack, `/api/v1/orders/${orderId}/deliver`, await admin()));
    expect(delivered.status).toBe('DELIVERED');
    const result = await temporal.client.workflow.getHandle(orderWorkflowId(orderId)).result();
    expect(result).toMatchObject({ id: orderId, status: 'DELIVERED', tracking_number: 'TRK-123' });
    // After the lifecycle ended: the same move is answered from Postgres, another is refused.
    expect(
      (await orderOf(await post(stack, `/api/v1/orders/${orderId}/deliver`, await admin()))).status,
    ).toBe('DELIVERED');
    await expectProblem(
      await post(stack, `/api/v1/orders/${orderId}/cancel`, headers),
      409,
      'order_not_cancellable',
    );

    expect(
      (await historyOf(orderId)).map((entry) => [entry.fromStatus, entry.toStatus, entry.actor]),
    ).toEqual([
      [null, 'CONFIRMED', 'checkout-saga'],
      ['CONFIRMED', 'SHIPPED', 'admin:1'],
      ['SHIPPED', 'DELIVERED', 'admin:1'],
    ]);
    expect(await orderOf(await request(stack, `/api/v1/orders/${orderId}`, { headers }))).toEqual(delivered);
  });

  it('refuses to deliver an order that has not shipped, and changes nothing', async () => {
    const { orderId, headers } = await placeOrder();
    await expectProblem(
      await post(stack, `/api/v1/orders/${orderId}/deliver`, await admin()),
      409,
      'conflict',
    );
    expect((await orderOf(await request(stack, `/api/v1/orders/${orderId}`, { headers }))).status).toBe(
      'CONFIRMED',
    );
    expect(await historyOf(orderId)).toHaveLength(1);
  });

  it('cancels before shipping: refunded and restocked exactly once, even when cancel is sent three times at once', async () => {
    const { orderId, headers, product, checkoutId } = await placeOrder();
    expect(await stack.services.inventory.getStock(product)).toMatchObject({ onHand: 8 });
    const responses = await Promise.all([
      post(stack, `/api/v1/orders/${orderId}/cancel`, headers, { reason: 'ordered by mistake' }),
      post(stack, `/api/v1/orders/${orderId}/cancel`, headers),
      post(stack, `/api/v1/orders/${orderId}/cancel`, await admin()),
    ]);
    const orders = await Promise.all(responses.map((response) => orderOf(response)));
    for (const order of orders) expect(order.status).toBe('CANCELLED');
    expect(
      orders.some((order) => order.payment?.status === 'REFUNDED' && order.payment.refunded_cents === 3000),
    ).toBe(true);
    expect(await orderOf(await post(stack, `/api/v1/orders/${orderId}/cancel`, headers))).toMatchObject({
      status: 'CANCELLED',
      payment: { status: 'REFUNDED', refunded_cents: 3000 },
    });

    expect(await ledgerOf(db, checkoutId)).toMatchObject({
      payment: { status: 'REFUNDED', captured_cents: 3000, refunded_cents: 3000 },
      operations: { REFUND: { outcome: 'SUCCEEDED', attempts: 1 } },
      providerCalls: { authorize: 1, capture: 1, refund: 1 },
      restocked: 1,
    });
    expect(await stack.services.inventory.getStock(product)).toMatchObject({ onHand: 10, reserved: 0 });
    const cancellations = (await historyOf(orderId)).filter((entry) => entry.toStatus === 'CANCELLED');
    expect(cancellations).toHaveLength(1);
    expect(cancellations[0]?.actor).toMatch(/^(user|admin):/);
    await expectProblem(await post(stack, `/api/v1/orders/${orderId}/ship`, await admin()), 409, 'conflict');
  });

  it('refunds once when Temporal retries a refund that failed on its way', async () => {
    let failures = 0;
    const flaky = await stackWith({
      activities: (real) => ({
        ...real,
        payments: {
          ...real.payments,
          refundPayment: async (checkoutId: string) => {
            await real.payments.refundPayment(checkoutId);
            // The refund happened, but the answer is lost twice: Temporal runs the activity again.
            if (failures++ < 2) throw new Error('connection reset after the refund');
          },
        },
      }),
    });
    const { orderId, headers, checkoutId, product } = await placeOrder(flaky);
    const cancelled = await orderOf(await post(flaky, `/api/v1/orders/${orderId}/cancel`, headers));
    expect(cancelled).toMatchObject({
      status: 'CANCELLED',
      payment: { status: 'REFUNDED', refunded_cents: 3000 },
    });
    expect(failures).toBe(3);
    expect(await ledgerOf(db, checkoutId)).toMatchObject({
      payment: { refunded_cents: 3000 },
      providerCalls: { refund: 1 },
      restocked: 1,
    });
    expect(await flaky.services.inventory.getStock(product)).toMatchObject({ onHand: 10, reserved: 0 });
  });

  it('moves by `temporal workflow signal` exactly as the API does; an impossible signal changes nothing', async () => {
    const { orderId, headers } = await placeOrder();
    const workflowId = orderWorkflowId(orderId);
    await waitFor(
      'the order workflow',
      async () =>
        await temporal.client.workflow
          .getHandle(workflowId)
          .describe()
          .then(
            () => true,
            () => false,
          ),
    );
    await temporalCli([
      'workflow',
      'signal',
      '--workflow-id',
      workflowId,
      '--name',
      'shipOrder',
      '--input',
      '{"tracking_number":"CLI-1"}',
    ]);
    await waitFor(
      'the order to ship',
      async () => (await stack.services.orders.get(orderId)).status === 'SHIPPED',
    );
    expect(await orderOf(await request(stack, `/api/v1/orders/${orderId}`, { headers }))).toMatchObject({
      status: 'SHIPPED',
      tracking_number: 'CLI-1',
    });
    const before = await historyOf(orderId);
    expect(before.at(-1)).toMatchObject({ fromStatus: 'CONFIRMED', toStatus: 'SHIPPED', actor: 'signal' });

    await temporalCli([
      'workflow',
      'signal',
      '--workflow-id',
      workflowId,
      '--name',
      'cancelOrder',
      '--input',
      '{}',
    ]);
    await waitFor('the refusal to be noted', async () => {
      const memo = (await temporal.client.workflow.getHandle(workflowId).describe()).memo ?? {};
      return String(memo.ignoredSignal ?? '').includes(
        'cancelOrder ignored: an order that is SHIPPED cannot become CANCELLED',
      );
    });
    expect(await historyOf(orderId)).toEqual(before);
    expect((await stack.services.orders.get(orderId)).status).toBe('SHIPPED');

    await temporalCli(['workflow', 'signal', '--workflow-id', workflowId, '--name', 'deliverOrder']);
    await waitFor(
      'the order to be delivered',
      async () => (await stack.services.orders.get(orderId)).status === 'DELIVERED',
    );
    // Visibility lags a little behind the workflow: poll the operator's query.
    await waitFor('the list by status to show the order', async () => {
      const query = `OrderStatus='DELIVERED' AND OrderId='${orderId}'`;
      const { stdout } = await temporalCli(['workflow', 'list', '--query', query]);
      return stdout.includes(workflowId);
    });
  });

  it('lives no longer than its windows: an order never shipped is cancelled and refunded at the deadline', async () => {
    const short = await stackWith({ orderShipWindowMs: 1_500 });
    const { orderId, checkoutId, product } = await placeOrder(short);
    const handle = temporal.client.workflow.getHandle(orderWorkflowId(orderId));
    await waitFor('the order workflow', async () =>
      handle.describe().then(
        () => true,
        () => false,
      ),
    );
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'CANCELLED', payment: { status: 'REFUNDED' } });
    expect((await short.services.orders.history(orderId)).at(-1)).toMatchObject({
      toStatus: 'CANCELLED',
      actor: 'order-timeout',
    });
    expect((await ledgerOf(db, checkoutId)).restocked).toBe(1);
    expect(await short.services.inventory.getStock(product)).toMatchObject({ onHand: 10 });
  });
});

describe('a move while the order workflow cannot run yet', () => {
  it('answers 503 with Retry-After, not 500, while its workflow task fails; the same call succeeds once a worker runs it', async () => {
    const { orderId, headers } = await placeOrder();
    // An operator terminated the lifecycle: the next move starts a new run, here on queues
    // served only by a worker whose every workflow task fails.
    const lifecycle = temporal.client.workflow.getHandle(orderWorkflowId(orderId));
    await waitFor('the order workflow to run', async () =>
      lifecycle.describe().then(
        (description) => description.status.name === 'RUNNING',
        () => false,
      ),
    );
    await lifecycle.terminate('the lifecycle is started again by the next move');
    const unready = await stackWith({ noWorkers: true, waitMs: 1_000 });
    const broken = await Worker.create({
      connection: temporal.connection,
      taskQueue: taskQueue(unready.prefix, 'orders'),
      workflowsPath: fileURLToPath(new URL('../../test/support/unready-order.workflow.ts', import.meta.url)),
    });
    const cancel = () => post(unready, `/api/v1/orders/${orderId}/cancel`, headers);
    await withWorkers([broken], async () => {
      // The call that starts the run waits for a workflow task that fails: never accepted, so
      // not 202 ("accepted, still being applied") but 503 to retry.
      const first = await cancel();
      await expectProblem(first, 503, 'service_unavailable');
      expect(first.headers.get('retry-after')).toBe('1');
      // Once its first workflow task has failed, Temporal refuses every update to it at once.
      const refused = await cancel();
      await expectProblem(refused, 503, 'service_unavailable');
      expect(refused.headers.get('retry-after')).toBe('1');
    });

    // A worker that runs the lifecycle takes the workflow over; the client's retry goes through.
    const workers = await createTestWorkers(temporal, { services: unready.services, prefix: unready.prefix });
    await withWorkers(workers, async () => {
      let answered: Response | undefined;
      await waitFor(
        'the retried cancel to be applied',
        async () => {
          answered = await cancel();
          return answered.status === 200;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      expect(await orderOf(answered as Response)).toMatchObject({
        status: 'CANCELLED',
        payment: { status: 'REFUNDED', refunded_cents: 3000 },
      });
    });
  }, 120_000);
});

describe('GET /api/v1/orders', () => {
  it('pages through every order exactly once, newest first, also while new orders arrive', async () => {
    const userId = nextUser();
    const headers = bearer(await userToken(userId));
    const place = async (n: number) => {
      const checkout = {
        id: crypto.randomUUID(),
        userId,
        status: 'COMPLETED' as const,
        lines: [
          {
            productId: 1,
            productName: 'Laptop',
            quantity: 1,
            priceCents: 100 + n,
            subtotalCents: 100 + n,
            cartLineVersion: 1,
          },
        ],
        totalCents: 100 + n,
        currency: 'USD',
        shippingAddress: null,
        orderId: null,
        reservationExpiresAt: null,
        failure: null,
        createdAt: new Date().toISOString(),
        updatedAt: new Date().toISOString(),
      };
      return (await stack.services.orders.createForCheckout(checkout, null)).id;
    };
    const original: string[] = [];
    for (let i = 0; i < 11; i++) original.push(await place(i));

    const seen: string[] = [];
    let next: string | null = '/api/v1/orders?limit=4';
    let pages = 0;
    while (next) {
      const response = await request(stack, next, { headers });
      const page = (await response.json()) as OrderJson[];
      expect(response.status).toBe(200);
      expect(page.length).toBeLessThanOrEqual(4);
      seen.push(...page.map((order) => order.id));
      // New orders arrive between pages; they are newer than the cursor, so never show up later.
      await place(100 + pages);
      pages += 1;
      const link = response.headers.get('link');
      next = link ? (/^<([^>]+)>; rel="next"$/.exec(link)?.[1] ?? null) : null;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual([...original].reverse());
    const all = (await (await request(stack, '/api/v1/orders?limit=100', { headers })).json()) as OrderJson[];
    expect(all).toHaveLength(14);
    expect(all.map((order) => order.created_at)).toEqual(
      [...all.map((order) => order.created_at)].sort().reverse(),
    );
  });

  it('answers an empty array, and refuses bad parameters', async () => {
    const headers = bearer(await userToken(nextUser()));
    const empty = await request(stack, '/api/v1/orders', { headers });
    expect(empty.status).toBe(200);
    expect(await empty.json()).toEqual([]);
    expect(empty.headers.get('link')).toBeNull();
    await expectProblem(await request(stack, '/api/v1/orders?limit=0', { headers }), 400, 'invalid_argument');
    await expectProblem(
      await request(stack, '/api/v1/orders?limit=101', { headers }),
      400,
      'invalid_argument',
    );
    await expectProblem(
      await request(stack, '/api/v1/orders?cursor=garbage', { headers }),
      400,
      'invalid_argument',
    );
    await expectProblem(await request(stack, '/api/v1/orders'), 401, 'unauthenticated');
  });

  it('accepts every cursor of the documented form, however far it points', async () => {
    const { orderId, headers } = await placeOrder();
    const page = async (cursor: string) => {
      const response = await request(stack, `/api/v1/orders?cursor=${cursor}`, { headers });
      const body = (await response.json()) as OrderJson[];
      expect(response.status, JSON.stringify(body)).toBe(200);
      return body.map((order) => order.id);
    };
    const zero = '00000000-0000-0000-0000-000000000000';
    expect(await page(`999999999999999_${zero}`)).toEqual([orderId]);
    expect(await page(`0_${zero}`)).toEqual([]);
    for (const cursor of [`01_${zero}`, `1_${zero.toUpperCase().replace(/0/g, 'A')}`, '1000000000000000_x']) {
      await expectProblem(
        await request(stack, `/api/v1/orders?cursor=${cursor}`, { headers }),
        400,
        'invalid_argument',
      );
    }
  });

  it('refuses text Postgres cannot store and a tracking number that does not start with a letter or digit', async () => {
    const { orderId, headers } = await placeOrder();
    await expectProblem(
      await post(stack, `/api/v1/orders/${orderId}/cancel`, headers, { reason: 'oops\u0000' }),
      400,
      'invalid_argument',
    );
    await expectProblem(
      await post(stack, `/api/v1/orders/${orderId}/ship`, await admin(), { tracking_number: ' TRK-1' }),
      400,
      'invalid_argument',
    );
    const shipped = await orderOf(
      await post(stack, `/api/v1/orders/${orderId}/ship`, await admin(), { tracking_number: 'TRK-1  ' }),
    );
    expect(shipped).toMatchObject({ status: 'SHIPPED', tracking_number: 'TRK-1' });
  });

  it("hides other users' orders and refuses malformed ids", async () => {
    const { orderId } = await placeOrder();
    const stranger = bearer(await userToken(nextUser()));
    await expectProblem(
      await request(stack, `/api/v1/orders/${orderId}`, { headers: stranger }),
      404,
      'not_found',
    );
    await expectProblem(await post(stack, `/api/v1/orders/${orderId}/cancel`, stranger), 404, 'not_found');
    await expectProblem(
      await request(stack, '/api/v1/orders/not-a-uuid', { headers: stranger }),
      400,
      'invalid_argument',
    );
    await expectProblem(await post(stack, `/api/v1/orders/${orderId}/ship`, stranger), 403, 'forbidden');
    await expectProblem(
      await post(stack, '/api/v1/orders/0190d9a0-0000-7000-8000-000000000000/ship', await admin()),
      404,
      'not_found',
    );
    await expectProblem(
      await post(stack, `/api/v1/orders/${orderId}/ship`, await admin(), { tracking_number: 'bad/chars' }),
      400,
      'invalid_argument',
    );
  });
});
