import { Writable } from 'node:stream';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { DestinationStream } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../db/client.js';
import { createLogger } from '../infra/logger.js';
import { setupTracing } from '../infra/tracing.js';
import {
  adminToken,
  bearer,
  createTestApp,
  jsonRequest,
  signTestToken,
  userToken,
} from '../test/support/app.js';
import { expectProblem } from '../test/support/problem.js';

// The edge refuses, routes, documents and measures before any service runs: these tests build the
// real app over a pool pointed at a port where nothing listens, so a request that reached the
// database would fail loudly. No Postgres, Redis or Temporal is started for them.
const unreachable = createDatabase('postgres://nobody@127.0.0.1:9/none', { max: 1 });
const unreachableDb = { ...unreachable, url: 'postgres://127.0.0.1:9/none', destroy: async () => {} };
const { app } = createTestApp({ db: unreachableDb });
afterAll(() => unreachable.close());

/** The API's logger at `info`, its lines collected. */
function collectingLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return {
    logger: createLogger({ level: 'info', name: 'api' }, sink as unknown as DestinationStream),
    lines,
  };
}

describe('HTTP edge', () => {
  it('answers liveness without dependencies and echoes a request id', async () => {
    const response = await app.request('/health', { headers: { 'X-Request-ID': 'abc-123' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
    expect(response.headers.get('x-request-id')).toBe('abc-123');
  });
  it('generates a request id when none (or a malformed one) is sent', async () => {
    const response = await app.request('/health', { headers: { 'X-Request-ID': 'bad id with spaces' } });
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
  it('reports an unknown route as 404 problem JSON', async () => {
    const body = await expectProblem(await app.request('/api/v1/nope'), 404, 'not_found');
    expect(body.detail).toContain('/api/v1/nope');
  });
  it('reports a wrong method as 405 with Allow', async () => {
    const response = await app.request('/api/v1/products/1', { method: 'PUT' });
    await expectProblem(response, 405, 'method_not_allowed');
    expect(response.headers.get('allow')).toBe('DELETE, GET, HEAD, PATCH');
  });
  it('rejects malformed JSON, empty bodies and non-object bodies as invalid_request', async () => {
    const token = await adminToken();
    for (const body of ['{"name": "x",', '', '[1,2]', 'null', '42', '"text"']) {
      const response = await app.request('/api/v1/products', jsonRequest('POST', body, bearer(token)));
      await expectProblem(response, 400, 'invalid_request');
    }
  });
  it('rejects wrong JSON types as invalid_request and lists the field', async () => {
    const token = await adminToken();
    const response = await app.request(
      '/api/v1/products',
      jsonRequest('POST', { name: 'Pen', price_cents: '100' }, bearer(token)),
    );
    const body = await expectProblem(response, 400, 'invalid_request');
    expect(body.errors).toEqual([expect.objectContaining({ field: 'price_cents' })]);
    const fractional = await app.request(
      '/api/v1/products',
      jsonRequest('POST', { name: 'Pen', price_cents: 1.5 }, bearer(token)),
    );
    await expectProblem(fractional, 400, 'invalid_request');
  });
  it('rejects bodies over 1 MiB with 413', async () => {
    const token = await adminToken();
    const big = JSON.stringify({ name: 'x', price_cents: 1, description: 'a'.repeat(1024 * 1024) });
    const response = await app.request('/api/v1/products', jsonRequest('POST', big, bearer(token)));
    await expectProblem(response, 413, 'payload_too_large');
  });
  it('publishes an OpenAPI 3.1 document covering the routes', async () => {
    const response = await app.request('/openapi.json');
    expect(response.status).toBe(200);
    const doc = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/health',
        '/ready',
        '/openapi.json',
        '/docs',
        '/metrics',
        '/api/v1/products',
        '/api/v1/products/{id}',
      ]),
    );
    expect(Object.keys(doc.paths['/api/v1/products/{id}'] ?? {}).sort()).toEqual(['delete', 'get', 'patch']);
  });
  it('serves the API reference from local assets', async () => {
    const page = await app.request('/docs');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('/openapi.json');
    expect(html).not.toMatch(/https?:\/\//);
    const asset = await app.request('/docs/assets/swagger-ui-bundle.js');
    expect(asset.status).toBe(200);
    expect((await asset.text()).length).toBeGreaterThan(100_000);
  });
  it('exposes Prometheus metrics', async () => {
    await app.request('/health');
    const response = await app.request('/metrics');
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(
      /http_requests_total\{method="GET",route="\/health",status="200"\} \d+/,
    );
  });
  it('logs one access line per request: request id, route template, status, user, duration', async () => {
    const { logger, lines } = collectingLogger();
    const { app: logged } = createTestApp({ db: unreachableDb, logger });
    await logged.request('/health', { headers: { 'X-Request-ID': 'trace-me' } });
    await logged.request('/api/v1/nope');
    // Authenticated, then the database is unreachable: 503, logged at error level with the user.
    await logged.request('/api/v1/cart', { headers: bearer(await userToken(42)) });
    // Answered by a route's guards (authentication, the body limit), before its handler runs: the
    // problem document and the access line still carry the request id and the route template.
    const refused = await logged.request('/api/v1/cart', { headers: { 'X-Request-ID': 'no-token' } });
    expect((await expectProblem(refused, 401, 'unauthenticated')).request_id).toBe('no-token');
    const big = JSON.stringify({ name: 'x', price_cents: 1, description: 'a'.repeat(1024 * 1024) });
    const tooLarge = await logged.request(
      '/api/v1/products',
      jsonRequest('POST', big, { ...bearer(await adminToken()), 'X-Request-ID': 'too-big' }),
    );
    expect((await expectProblem(tooLarge, 413, 'payload_too_large')).request_id).toBe('too-big');
    const access = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((l) => l.msg === 'request');
    expect(access).toEqual([
      expect.objectContaining({
        level: 'info',
        service: 'api',
        request_id: 'trace-me',
        method: 'GET',
        path: '/health',
        route: '/health',
        status: 200,
      }),
      expect.objectContaining({ level: 'info', path: '/api/v1/nope', route: 'unmatched', status: 404 }),
      expect.objectContaining({
        level: 'error',
        path: '/api/v1/cart',
        route: '/api/v1/cart',
        status: 503,
        user_id: 42,
      }),
      expect.objectContaining({ request_id: 'no-token', route: '/api/v1/cart', status: 401 }),
      expect.objectContaining({ request_id: 'too-big', route: '/api/v1/products', status: 413 }),
    ]);
    expect(access[0]?.duration_ms).toEqual(expect.any(Number));
    expect(access[0]).not.toHaveProperty('user_id');
    expect(access[2]?.request_id).toMatch(/^[0-9a-f-]{36}$/);
  });
  it('puts the trace and span ids of the request span on the access line when tracing is on', async () => {
    const { logger, lines } = collectingLogger();
    const exporter = new InMemorySpanExporter();
    const tracing = setupTracing({ serviceName: 'edge-test', exporter });
    try {
      const { app: traced } = createTestApp({ db: unreachableDb, logger, tracing: true });
      expect((await traced.request('/health')).status).toBe(200);
      const [span] = exporter.getFinishedSpans().filter((s) => s.name === 'GET /health');
      const [line] = lines.map((text) => JSON.parse(text) as Record<string, unknown>);
      expect(line?.trace_id).toMatch(/^[0-9a-f]{32}$/);
      expect(line).toMatchObject({
        route: '/health',
        trace_id: span?.spanContext().traceId,
        span_id: span?.spanContext().spanId,
      });
    } finally {
      await tracing.shutdown();
    }
  });
  it('answers 503 timeout at the deadline with every edge header, and drops the late answer', async () => {
    const { app: hurried } = createTestApp({ db: unreachableDb, requestTimeoutMs: 50 });
    let finish: (() => void) | undefined;
    hurried.get('/slow', async (c) => {
      await new Promise<void>((resolve) => {
        finish = resolve;
      });
      return c.json({ late: true });
    });
    const started = performance.now();
    const response = await hurried.request('/slow', { headers: { 'X-Request-ID': 'slow-1' } });
    expect(performance.now() - started).toBeLessThan(1_000);
    const body = await expectProblem(response, 503, 'timeout');
    expect(body.request_id).toBe('slow-1');
    expect(response.headers.get('retry-after')).toBe('1');
    expect(response.headers.get('x-request-id')).toBe('slow-1');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    finish?.();
    // Answers that are ready in time are untouched by the deadline.
    expect((await hurried.request('/health')).status).toBe(200);
  });
  it('answers 503 with Retry-After for every connection-level failure, 500 for anything else', async () => {
    // A route of a separate app throws what the drivers throw while a dependency restarts.
    const { app: throwing } = createTestApp({ db: unreachableDb });
    throwing.get('/throw/:code', (c) => {
      throw Object.assign(new Error('wrapper'), {
        cause: Object.assign(new Error(`failed: ${c.req.param('code')}`), { code: c.req.param('code') }),
      });
    });
    const unavailable = [
      'ECONNREFUSED',
      'ERR_STREAM_WRITE_AFTER_END',
      'ERR_STREAM_DESTROYED',
      'CONNECTION_CLOSED',
      '57P01',
      '57P02',
      '57P03',
      '08006',
      '08P01',
    ];
    for (const code of unavailable) {
      const response = await throwing.request(`/throw/${code}`);
      await expectProblem(response, 503, 'service_unavailable');
      expect(response.headers.get('retry-after'), code).toBe('1');
    }
    for (const code of ['23505', '42P01', 'ERR_INVALID_ARG_TYPE', '08']) {
      await expectProblem(await throwing.request(`/throw/${code}`), 500, 'internal_error');
    }
  });

  describe('authentication', () => {
    const create = (headers: Record<string, string>) =>
      app.request('/api/v1/products', jsonRequest('POST', { name: 'Pen', price_cents: 100 }, headers));

    it('requires a token on protected routes', async () => {
      await expectProblem(await create({}), 401, 'unauthenticated');
      await expectProblem(await create({ Authorization: 'Basic abc' }), 401, 'unauthenticated');
      await expectProblem(await create({ Authorization: 'Bearer not.a.jwt' }), 401, 'unauthenticated');
    });
    it('rejects a wrong secret, another algorithm, alg none, a missing or past exp', async () => {
      const now = Math.floor(Date.now() / 1000);
      const tokens = [
        await signTestToken({ user_id: 1, role: 'admin' }, { secret: 'another-secret-of-sufficient-length' }),
        await signTestToken({ user_id: 1, role: 'admin' }, { alg: 'HS512' }),
        await signTestToken({ user_id: 1, role: 'admin' }, { exp: null }),
        await signTestToken({ user_id: 1, role: 'admin' }, { exp: now - 120 }),
        `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(
          JSON.stringify({ user_id: 1, role: 'admin', exp: now + 600 }),
        ).toString('base64url')}.`,
      ];
      for (const token of tokens) await expectProblem(await create(bearer(token)), 401, 'unauthenticated');
    });
    it('requires a positive integer user id', async () => {
      for (const claims of [
        { user_id: '7' },
        { user_id: 0 },
        { user_id: -3 },
        { user_id: 1.5 },
        { sub: 'abc' },
        {},
      ]) {
        await expectProblem(
          await create(bearer(await signTestToken({ ...claims, role: 'admin' }))),
          401,
          'unauthenticated',
        );
      }
    });
  });
});
