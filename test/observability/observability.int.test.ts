import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { signWebhook } from '../../api/middleware/webhook-signature.js';
import { signToken } from '../../infra/jwt.js';
import { freePort } from '../../scripts/provision/process.js';
import { TEST_JWT_SECRET, TEST_WEBHOOK_SECRET } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { type PlatformProcess, startPlatformProcess } from '../support/platform-process.js';
import { userIdSource, waitFor } from '../support/redis.js';
import { deleteTestSchedules } from '../support/temporal.js';

/**
 * The real API and worker processes, logging at debug level, through a full 3-D Secure checkout
 * (with its signed webhook), a declined one and an order cancelled and refunded: afterwards every
 * promised series is on `/metrics` (the API's and the worker's), and no token, secret, webhook
 * signature, webhook body or payment token appears anywhere in either process's logs.
 */
let db: TestDatabase;
let api: PlatformProcess;
let worker: PlatformProcess;
let baseUrl: string;
let workerMetricsUrl: string;
let prefix: string;
const nextUser = userIdSource();
const secretsSeen: string[] = [TEST_JWT_SECRET, TEST_WEBHOOK_SECRET];

beforeAll(async () => {
  db = await createTestDatabase();
  prefix = `obs${Date.now().toString(36)}`;
  const [httpPort, metricsPort] = [await freePort(), await freePort()];
  baseUrl = `http://127.0.0.1:${httpPort}`;
  workerMetricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const common = {
    databaseUrl: db.url,
    redisUrl: inject('redisUrl'),
    taskQueuePrefix: prefix,
    keepOutputBytes: 50_000_000,
  };
  api = await startPlatformProcess('api', {
    ...common,
    env: { HTTP_PORT: String(httpPort), LOG_LEVEL: 'debug', RATE_LIMIT_RPS: '0' },
  });
  worker = await startPlatformProcess('worker', {
    ...common,
    env: { LOG_LEVEL: 'debug', WORKER_METRICS_PORT: String(metricsPort) },
  });
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([api?.stop(), worker?.stop()]);
  await deleteTestSchedules(prefix);
  await db?.destroy();
});

async function call(
  token: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  secretsSeen.push(token);
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return {
    status: response.status,
    body: (await response.json().catch(() => ({}))) as Record<string, unknown>,
  };
}

async function shopperCheckout(token: string, paymentToken: string, key: string) {
  expect((await call(token, 'POST', '/api/v1/cart/items', { product_id: 4, quantity: 1 })).status).toBe(201);
  return call(token, 'POST', '/api/v1/checkout', { payment_token: paymentToken }, { 'Idempotency-Key': key });
}

describe('observability of a real run', () => {
  it('exposes every promised series and logs no secret through a full checkout, a refusal and a refund', async () => {
    // A 3-D Secure checkout confirmed by the provider's signed webhook.
    const buyer = await signToken(TEST_JWT_SECRET, { userId: nextUser() });
    const pending = await shopperCheckout(buyer, 'tok_threeDSecure', 'obs-3ds');
    expect(pending.status).toBe(202);
    const checkoutId = pending.body.checkout_id as string;
    const webhookBody = JSON.stringify({ checkout_id: checkoutId, event: 'payment.succeeded' });
    const signature = signWebhook(TEST_WEBHOOK_SECRET, webhookBody);
    secretsSeen.push(signature, signature.replace('sha256=', ''), webhookBody);
    const hook = await fetch(`${baseUrl}/api/v1/payments/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Signature': signature },
      body: webhookBody,
    });
    expect(hook.status).toBe(200);
    await waitFor(
      'the checkout to complete',
      async () => (await call(buyer, 'GET', `/api/v1/checkout/${checkoutId}`)).body.status === 'COMPLETED',
      {
        timeoutMs: 30_000,
      },
    );
    // A refusal, and the first order cancelled (refunded and restocked).
    const declinedBuyer = await signToken(TEST_JWT_SECRET, { userId: nextUser() });
    expect((await shopperCheckout(declinedBuyer, 'tok_chargeDeclined', 'obs-declined')).status).toBe(402);
    const orderId = (await call(buyer, 'GET', `/api/v1/checkout/${checkoutId}`)).body.order_id as string;
    const cancelled = await call(buyer, 'POST', `/api/v1/orders/${orderId}/cancel`, {});
    expect(cancelled.status).toBe(200);

    const apiMetrics = await (await fetch(`${baseUrl}/metrics`)).text();
    for (const series of [
      /http_requests_total\{[^}]*route="\/api\/v1\/checkout"[^}]*status="202"/,
      /http_request_duration_seconds_bucket\{[^}]*route="\/api\/v1\/checkout"/,
      /process_cpu_user_seconds_total/,
    ]) {
      expect(apiMetrics).toMatch(series);
    }
    if (inject('redisUrl')) expect(apiMetrics).toMatch(/cart_cache_requests_total\{/);

    const workerMetrics = await (await fetch(workerMetricsUrl)).text();
    for (const series of [
      /checkouts_total\{[^}]*status="COMPLETED"[^}]*code="none"[^}]*\} 1/,
      /checkouts_total\{[^}]*status="FAILED"[^}]*code="payment_declined"[^}]*\} 1/,
      /checkout_duration_seconds_bucket\{[^}]*status="COMPLETED"/,
      /inventory_reservations_total\{[^}]*outcome="reserved"[^}]*\} 2/,
      /payment_operations_total\{[^}]*operation="authorize"[^}]*outcome="requires_confirmation"/,
      /payment_operations_total\{[^}]*operation="capture"[^}]*outcome="succeeded"/,
      /payment_operations_total\{[^}]*operation="refund"[^}]*outcome="succeeded"[^}]*\} 1/,
      // The Temporal SDK's own worker metrics, in the same scrape.
      /temporal_workflow_completed_total/,
      /temporal_activity_execution_latency/,
    ]) {
      expect(workerMetrics).toMatch(series);
    }

    // Logs correlate: the worker's lines name the checkout and its workflow; the API's carry request ids.
    const apiLog = api.output();
    const workerLog = worker.output();
    expect(workerLog).toContain(`"checkoutId":"${checkoutId}"`);
    expect(workerLog).toContain(`"workflowId":"checkout-${checkoutId}"`);
    expect(apiLog).toMatch(/"request_id":"[^"]+".*"route":"\/api\/v1\/checkout"/);
    // And never carry a secret.
    for (const secret of [...secretsSeen, 'tok_threeDSecure', 'tok_chargeDeclined']) {
      expect(apiLog.includes(secret), `API log contains ${secret.slice(0, 12)}...`).toBe(false);
      expect(workerLog.includes(secret), `worker log contains ${secret.slice(0, 12)}...`).toBe(false);
    }
  });
});
