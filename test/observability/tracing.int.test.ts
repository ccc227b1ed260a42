import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTracing, type Tracing } from '../../infra/tracing.js';
import { type CheckoutStack, checkoutBody, startCheckoutStack } from '../support/checkout.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { connectTestRedis, userIdSource, waitFor } from '../support/redis.js';
import { createTemporalTestContext, type TemporalTestContext } from '../support/temporal.js';

/**
 * One checkout, one trace: the HTTP request's span is the root; the update-with-start that begins
 * the saga, the workflow, every activity and the SQL statements they run are its descendants
 * (recorded by an in-memory exporter instead of an OTLP collector).
 */
const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let db: TestDatabase;
let redis: Redis | undefined;
let temporal: TemporalTestContext;
let stack: CheckoutStack;

beforeAll(async () => {
  tracing = setupTracing({ serviceName: 'commerce-test', exporter });
  [db, temporal] = await Promise.all([
    createTestDatabase({ traced: true }),
    createTemporalTestContext({ tracing: true }),
  ]);
  redis = connectTestRedis(undefined, { traced: true });
  stack = await startCheckoutStack({ db, redis, temporal, tracing });
});
afterAll(async () => {
  await stack?.stop();
  redis?.disconnect();
  await Promise.allSettled([db?.destroy(), temporal?.close(), tracing?.shutdown()]);
});

const names = (spans: ReadableSpan[]) => spans.map((span) => span.name);

describe('tracing', () => {
  it('gives a checkout a single trace across the API, the workflow, its activities and SQL', async () => {
    const shopper = await stack.shopper(userIdSource()());
    await shopper.add(2, 1);
    exporter.reset();
    const response = await shopper.checkout({}, { 'Idempotency-Key': 'traced-checkout' });
    const body = await checkoutBody(response);
    expect(response.status, JSON.stringify(body)).toBe(201);

    const root = () => exporter.getFinishedSpans().find((span) => span.name === 'POST /api/v1/checkout');
    await waitFor('the request span', () => root() !== undefined);
    const traceId = root()?.spanContext().traceId;
    const inTrace = () =>
      exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
    // Workflow spans are exported from the worker when the run completes.
    await waitFor('the workflow span', () => names(inTrace()).includes('RunWorkflow:checkoutWorkflow'), {
      timeoutMs: 20_000,
    });
    const spans = inTrace();
    const spanNames = names(spans);
    expect(spanNames).toEqual(
      expect.arrayContaining([
        'POST /api/v1/checkout',
        'UpdateWithStartWorkflow:awaitOutcome',
        'HandleUpdate:awaitOutcome',
        'RunWorkflow:checkoutWorkflow',
        'StartActivity:openCheckout',
        'RunActivity:openCheckout',
        'RunActivity:reserveStock',
        'RunActivity:authorizePayment',
        'RunActivity:commitStock',
        'RunActivity:createOrder',
        'RunActivity:capturePayment',
        'RunActivity:completeCheckout',
        'StartChildWorkflow:orderWorkflow',
      ]),
    );
    // SQL from the API (the idempotency lookup) and from the activities (the reservation) is in it.
    const sql = spans.filter((span) => span.attributes['db.system'] === 'postgresql');
    expect(sql.length).toBeGreaterThan(5);
    expect(sql.some((span) => String(span.attributes['db.statement']).includes('"reservations"'))).toBe(true);
    expect(sql.some((span) => String(span.attributes['db.statement']).includes('"checkouts"'))).toBe(true);
    // The cart cache invalidation that completes the checkout is a Redis command in the same trace.
    if (redis) expect(spans.some((span) => span.attributes['db.system'] === 'redis')).toBe(true);
    // Every span but the root has its parent in the same trace: nothing dangles.
    const ids = new Set(spans.map((span) => span.spanContext().spanId));
    const orphans = spans.filter((span) => span !== root() && !ids.has(span.parentSpanId ?? ''));
    expect(names(orphans)).toEqual([]);
    // Parameters never reach a span.
    expect(JSON.stringify(sql.map((span) => span.attributes))).not.toContain('traced-checkout');
  });
});
