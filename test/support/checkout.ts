import type { Worker } from '@temporalio/worker';
import type { Redis } from 'ioredis';
import { createTemporalCheckoutSaga } from '../../api/checkout-saga.js';
import { createTemporalOrderLifecycle } from '../../api/order-lifecycle.js';
import type { Tracing } from '../../infra/tracing.js';
import type { CheckoutJson } from '../../lib/checkout.js';
import type { QueueActivities } from '../../workers/workers.js';
import { checkoutWorkflowId } from '../../workflows/checkout.contract.js';
import { bearer, createTestApp, createTestServices, jsonRequest, type TestApp, userToken } from './app.js';
import type { TestDatabase } from './db.js';
import { createTestWorkers, type TemporalTestContext } from './temporal.js';

export interface CheckoutStackOptions {
  db: TestDatabase;
  redis: Redis | undefined;
  temporal: TemporalTestContext;
  /** RESERVATION_TTL of the workers; default 5 minutes. */
  reservationTtlMs?: number;
  /** RESERVATION_SWEEP_GRACE of the workers; default 1 minute. */
  reservationSweepGraceMs?: number;
  /** CHECKOUT_WAIT_MS of the API; default 30 s so tests see outcomes rather than 202s. */
  waitMs?: number;
  /** Replaces activities, e.g. to make a step fail. */
  activities?: (real: QueueActivities) => QueueActivities;
  /** ORDER_SHIP_WINDOW of the workers; default 30 days. */
  orderShipWindowMs?: number;
  /** PAYMENT_FAILURE_RATE of the mock provider; default 0. */
  paymentFailureRate?: number;
  /** Traces through app and workers (the temporal context must have been created with `tracing`). */
  tracing?: Tracing;
  /** Start no workers (a test that runs its own, e.g. in a child process). */
  noWorkers?: boolean;
}

export interface CheckoutStack extends TestApp {
  prefix: string;
  workers: Worker[];
  shopper(userId: number): Promise<Shopper>;
  /** The saga's handle, to query or signal it as an operator would. */
  workflow(checkoutId: string): ReturnType<TemporalTestContext['client']['workflow']['getHandle']>;
  stop(): Promise<void>;
}

export interface Shopper {
  userId: number;
  headers: Record<string, string>;
  add(productId: number, quantity: number): Promise<Response>;
  cart(): Promise<{ cart: Array<{ product_id: number; quantity: number }> }>;
  checkout(body?: unknown, headers?: Record<string, string>): Promise<Response>;
  get(checkoutId: string): Promise<Response>;
  cancel(checkoutId: string, body?: unknown): Promise<Response>;
}

/**
 * The API over real services with the real Temporal saga port, and the real workers on this
 * test's own task queues: a checkout goes through Postgres, Redis and the Temporal dev server.
 */
export async function startCheckoutStack(options: CheckoutStackOptions): Promise<CheckoutStack> {
  const { temporal } = options;
  const prefix = temporal.newPrefix();
  const services = createTestServices({
    db: options.db,
    redis: options.redis,
    paymentFailureRate: options.paymentFailureRate ?? 0,
  });
  const testApp = createTestApp({
    db: options.db,
    redis: options.redis,
    services,
    tracing: options.tracing?.enabled ?? false,
    checkout: {
      saga: createTemporalCheckoutSaga({ client: temporal.client, taskQueuePrefix: prefix }),
      waitMs: options.waitMs ?? 30_000,
    },
    orderLifecycle: createTemporalOrderLifecycle({ client: temporal.client, taskQueuePrefix: prefix }),
  });
  const workers = options.noWorkers
    ? []
    : await createTestWorkers(temporal, {
        services,
        prefix,
        ...(options.reservationTtlMs ? { reservationTtlMs: options.reservationTtlMs } : {}),
        ...(options.reservationSweepGraceMs !== undefined
          ? { reservationSweepGraceMs: options.reservationSweepGraceMs }
          : {}),
        ...(options.activities ? { activities: options.activities } : {}),
        ...(options.orderShipWindowMs ? { orderShipWindowMs: options.orderShipWindowMs } : {}),
        ...(options.tracing ? { tracing: options.tracing } : {}),
      });
  const running = workers.map((worker) => worker.run());
  const request = async (path: string, init?: RequestInit) => testApp.app.request(path, init);

  return {
    ...testApp,
    prefix,
    workers,
    workflow: (checkoutId) => temporal.client.workflow.getHandle(checkoutWorkflowId(checkoutId)),
    async shopper(userId) {
      const headers = bearer(await userToken(userId));
      return {
        userId,
        headers,
        add: (productId, quantity) =>
          request('/api/v1/cart/items', jsonRequest('POST', { product_id: productId, quantity }, headers)),
        cart: async () => (await request('/api/v1/cart', { headers })).json() as never,
        checkout: (body = {}, extra = {}) =>
          request('/api/v1/checkout', jsonRequest('POST', body, { ...headers, ...extra })),
        get: (checkoutId) => request(`/api/v1/checkout/${checkoutId}`, { headers }),
        cancel: (checkoutId, body) =>
          request(
            `/api/v1/checkout/${checkoutId}/cancel`,
            body === undefined ? { method: 'POST', headers } : jsonRequest('POST', body, headers),
          ),
      };
    },
    async stop() {
      for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
      await Promise.allSettled(running);
    },
  };
}

/** Reads a checkout answer (201/202 body or problem document) as JSON. */
export async function checkoutBody(response: Response): Promise<CheckoutJson & Record<string, unknown>> {
  return (await response.json()) as CheckoutJson & Record<string, unknown>;
}

/** Everything a checkout left in Postgres: the proof of what happened, independent of the API's answer. */
export interface CheckoutLedger {
  checkout: { status: string; failure_code: string | null; order_id: string | null } | undefined;
  payment:
    | { status: string; captured_cents: number; refunded_cents: number; amount_cents: number }
    | undefined;
  /** kind -> outcome and attempts of the provider calls the payments service recorded. */
  operations: Record<string, { outcome: string; attempts: number }>;
  /** What the mock provider itself processed, per operation. */
  providerCalls: Record<string, number>;
  reservations: string[];
  orders: Array<{ id: string; status: string }>;
  restocked: number;
}

export async function ledgerOf(db: TestDatabase, checkoutId: string): Promise<CheckoutLedger> {
  const [checkout] = await db.sql<CheckoutLedger['checkout'][]>`
    select status, failure_code, order_id from checkouts where id = ${checkoutId}`;
  const [payment] = await db.sql<NonNullable<CheckoutLedger['payment']>[]>`
    select status, captured_cents::int, refunded_cents::int, amount_cents::int from payments where checkout_id = ${checkoutId}`;
  const operations = await db.sql<{ kind: string; outcome: string; attempts: number }[]>`
    select o.kind, o.outcome, o.attempts from payment_operations o join payments p on p.id = o.payment_id
    where p.checkout_id = ${checkoutId}`;
  const provider = await db.sql<{ operation: string; n: number }[]>`
    select operation, count(*)::int as n from mock_provider_requests
    where idempotency_key like ${`${checkoutId}:%`} and outcome <> 'unavailable' group by operation`;
  const reservations = await db.sql<{ status: string }[]>`
    select status from reservations where checkout_id = ${checkoutId} order by product_id`;
  const orders = await db.sql<{ id: string; status: string }[]>`
    select id, status from orders where checkout_id = ${checkoutId}`;
  const [restock] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from stock_movements where reason = 'RESTOCK' and reference = ${checkoutId}`;
  return {
    checkout,
    payment,
    operations: Object.fromEntries(
      operations.map((o) => [o.kind, { outcome: o.outcome, attempts: o.attempts }]),
    ),
    providerCalls: Object.fromEntries(provider.map((p) => [p.operation, p.n])),
    reservations: reservations.map((r) => r.status),
    orders: [...orders],
    restocked: restock?.n ?? 0,
  };
}
