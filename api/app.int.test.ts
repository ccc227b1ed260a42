import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminToken,
  bearer,
  createTestApp,
  jsonRequest,
  signTestToken,
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

  describe('authentication', () => {
    const create = (headers: Record<string, string>) =>
      app.request('/api/v1/products', jsonRequest('POST', { name: 'Pen', price_cents: 100 }, headers));

    it('accepts the original gateway token shape and a numeric sub, and forbids non-admins', async () => {
      await expectProblem(await create(bearer(await userToken(7))), 403, 'forbidden');
      await expectProblem(await create(bearer(await signTestToken({ sub: '7' }))), 403, 'forbidden');
      const created = await create(bearer(await signTestToken({ sub: '7', role: 'admin' })));
      expect(created.status).toBe(201);
    });
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
