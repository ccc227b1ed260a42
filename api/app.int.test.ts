import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminToken,
  bearer,
  createTestApp,
  jsonRequest,
  TEST_JWT_SECRET,
  userToken,
} from '../test/support/app.js';
import { createTestDatabase, type TestDatabase } from '../test/support/db.js';
import { expectProblem } from '../test/support/problem.js';

let db: TestDatabase;
let app: ReturnType<typeof createTestApp>['app'];

beforeAll(async () => {
  db = await createTestDatabase();
  ({ app } = createTestApp({ db }));
});
afterAll(async () => {
  await db?.destroy();
});

const signWith = (
  claims: Record<string, unknown>,
  options: { alg?: string; secret?: string; exp?: number | null } = {},
) => {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: options.alg ?? 'HS256' });
  if (options.exp !== null) jwt.setExpirationTime(options.exp ?? Math.floor(Date.now() / 1000) + 600);
  return jwt.sign(new TextEncoder().encode(options.secret ?? TEST_JWT_SECRET));
};

function expectSecurityHeaders(headers: Headers): void {
  expect(headers.get('x-content-type-options')).toBe('nosniff');
  expect(headers.get('x-frame-options')).toBe('DENY');
  expect(headers.get('content-security-policy')).toBe("frame-ancestors 'none'");
  expect(headers.get('referrer-policy')).toBe('no-referrer');
  expect(headers.get('strict-transport-security')).toMatch(/^max-age=\d+/);
  expect(headers.get('cache-control')).toBe('no-store');
  expect(headers.get('x-request-id')).toBeTruthy();
}

describe('HTTP edge', () => {
  it('sets the security headers and the request id on every answer served over HTTP', async () => {
    // Served by @hono/node-server, these go onto Node's response before the handler runs.
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const big = JSON.stringify({ name: 'x', price_cents: 1, description: 'a'.repeat(1024 * 1024) });
      const token = await adminToken();
      const answers = [
        ['/health', {}, 200],
        ['/api/v1/cart', {}, 401],
        ['/api/v1/products/0', {}, 400],
        ['/api/v1/products/999999', {}, 404],
        ['/api/v1/products/1', { method: 'PUT' }, 405],
        ['/api/v1/products', jsonRequest('POST', big, bearer(token)), 413],
      ] as const;
      for (const [path, init, status] of answers) {
        const response = await fetch(`http://127.0.0.1:${port}${path}`, {
          ...init,
          headers: { ...('headers' in init ? init.headers : {}), 'X-Request-ID': `edge-${status}` },
        });
        expect(response.status).toBe(status);
        expectSecurityHeaders(response.headers);
        expect(response.headers.get('x-request-id')).toBe(`edge-${status}`);
        // An unread oversized body ends the connection rather than poisoning its next request.
        if (status === 413) expect(response.headers.get('connection')).toBe('close');
        await response.arrayBuffer();
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('answers liveness without dependencies and echoes a request id', async () => {
    const response = await app.request('/health', { headers: { 'X-Request-ID': 'abc-123' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
    expect(response.headers.get('x-request-id')).toBe('abc-123');
  });

  it('sends security headers on every answer, and CORS headers only to configured origins', async () => {
    for (const response of [
      await app.request('/api/v1/cart', { headers: bearer(await userToken(4242)) }),
      await app.request('/api/v1/cart'),
      await app.request('/api/v1/nope'),
    ]) {
      expectSecurityHeaders(response.headers);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    }

    const browserApp = createTestApp({ db, corsOrigins: ['https://shop.example'] }).app;
    const preflight = await browserApp.request('/api/v1/checkout', {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://shop.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization, idempotency-key',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Idempotency-Key/i);
    const stranger = await browserApp.request('/api/v1/products', {
      headers: { Origin: 'https://evil.example' },
    });
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
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
        await signWith({ user_id: 1, role: 'admin' }, { secret: 'another-secret-of-sufficient-length' }),
        await signWith({ user_id: 1, role: 'admin' }, { alg: 'HS512' }),
        await signWith({ user_id: 1, role: 'admin' }, { exp: null }),
        await signWith({ user_id: 1, role: 'admin' }, { exp: now - 120 }),
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
          await create(bearer(await signWith({ ...claims, role: 'admin' }))),
          401,
          'unauthenticated',
        );
      }
    });

    it('accepts the original gateway token shape and a numeric sub, and forbids non-admins', async () => {
      await expectProblem(await create(bearer(await userToken(7))), 403, 'forbidden');
      await expectProblem(await create(bearer(await signWith({ sub: '7' }))), 403, 'forbidden');
      const created = await create(bearer(await signWith({ sub: '7', role: 'admin' })));
      expect(created.status).toBe(201);
    });
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
});

describe('readiness', () => {
  it('is 200 when every check passes, treating a disabled Redis as fine', async () => {
    const { app: ready } = createTestApp({
      db,
      readiness: { postgres: async () => 'ok', redis: async () => 'disabled' },
    });
    const response = await ready.request('/ready');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', checks: { postgres: 'ok', redis: 'disabled' } });
  });

  it('is 503 naming the failing check', async () => {
    const { app: failing } = createTestApp({
      db,
      readiness: {
        postgres: async () => 'ok',
        temporal: async () => {
          throw new Error('connection refused');
        },
      },
    });
    const response = await failing.request('/ready');
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      status: 'unavailable',
      checks: { postgres: 'ok', temporal: 'error' },
    });
  });
});
