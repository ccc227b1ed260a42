import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { eventually } from '../support/black-box.js';
import { holdPort } from '../support/npm-start.js';
import { CONTRACT_ROUTES, type E2E, expectOk, expectProblem } from './harness.js';
import { newProduct, newShopper } from './shopper.js';

/** Probes, documents, metrics, and the answers a client gets when the platform is under strain. */
export function operationsSuite(e2e: () => E2E): void {
  describe('operations', () => {
    it('reports liveness and readiness of every dependency', async () => {
      const { api } = e2e();
      expect(expectOk(await api.get('/health'))).toEqual({ status: 'ok' });
      expect(expectOk(await api.get('/ready'))).toEqual({
        status: 'ok',
        checks: { postgres: 'ok', redis: e2e().banner.redisUrl ? 'ok' : 'disabled', temporal: 'ok' },
      });
    });

    it('publishes an OpenAPI 3.1 document of exactly the contract routes', async () => {
      const document = expectOk(await e2e().api.get('/openapi.json'));
      expect(document.openapi).toMatch(/^3\.1\./);
      const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(
        ([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
      );
      expect(documented.sort()).toEqual([...CONTRACT_ROUTES].sort());
    });

    it('serves the API reference without the internet and Prometheus metrics', async () => {
      const { api } = e2e();
      const docs = await api.get('/docs');
      expect(docs.status).toBe(200);
      expect(docs.headers.get('content-type')).toMatch(/text\/html/);
      // Every script and stylesheet comes from the platform itself.
      const external = [...docs.text.matchAll(/(?:src|href)="(https?:[^"]+)"/g)].map((match) => match[1]);
      expect(external).toEqual([]);

      const metrics = await api.get('/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toMatch(/text\/plain/);
      expect(metrics.text).toMatch(/^http_requests_total\{/m);
    });
  });

  describe('under strain', () => {
    it('rate limits a user (default 10/s, burst 20): 429 rate_limited with Retry-After and RateLimit-*', async () => {
      const api = e2e().api.withoutRetries();
      const token = await e2e().token(e2e().newUser());
      const answers = await Promise.all(Array.from({ length: 40 }, () => api.get('/api/v1/cart', { token })));
      const limited = answers.filter((answer) => answer.status === 429);
      expect(answers.filter((answer) => answer.status === 200).length).toBeGreaterThanOrEqual(10);
      expect(limited.length).toBeGreaterThan(0);
      const refusal = limited[0] as (typeof answers)[number];
      expectProblem(refusal, 429, 'rate_limited');
      expect(Number(refusal.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(refusal.headers.get('ratelimit-limit')).toBe('10');
      expect(refusal.headers.get('ratelimit-remaining')).toBe('0');
      // Probes are never limited, and another user has a budget of their own.
      expect((await api.get('/health')).status).toBe(200);
      expect((await api.get('/api/v1/cart', { token: await e2e().token(e2e().newUser()) })).status).toBe(200);
    });

    it('answers 503 timeout within bounds when a lock is held too long', async () => {
      const product = await newProduct(e2e(), { name: 'E2E Locked', price_cents: 100, stock: 5 });
      const sql = postgres(e2e().banner.databaseUrl, { max: 1, onnotice: () => {} });
      try {
        const locked = sql.begin(async (tx) => {
          await tx`select on_hand from inventory where product_id = ${product.id} for update`;
          await tx`select pg_sleep(6)`;
        });
        await new Promise((resolve) => setTimeout(resolve, 300));
        const started = Date.now();
        const answer = await e2e().api.put(`/api/v1/inventory/${product.id}`, {
          token: await e2e().adminToken(),
          json: { on_hand: 9 },
        });
        expectProblem(answer, 503, 'timeout');
        expect(answer.headers.get('retry-after')).toBeTruthy();
        expect(Date.now() - started).toBeLessThan(5_500);
        await locked;
      } finally {
        await sql.end();
      }
    }, 30_000);

    it('answers 503 service_unavailable while Postgres is down, and recovers by itself', async () => {
      const { platform } = e2e();
      const shop = await newShopper(e2e());
      const pid = platform.pid('postgres');
      if (pid === undefined) throw new Error('npm start reported no postgres pid');
      const port = Number(new URL(e2e().banner.databaseUrl).port);
      process.kill(pid, 'SIGKILL');
      const held = await holdPort(port, { timeoutMs: 10_000 });
      try {
        const answer = await eventually(
          'a request to fail while Postgres is away',
          async () => {
            const attempt = await e2e().api.get('/api/v1/cart', { token: shop.token });
            return attempt.status === 503 ? attempt : undefined;
          },
          { timeoutMs: 20_000, intervalMs: 200 },
        );
        expectProblem(answer, 503, 'service_unavailable');
        expect(answer.headers.get('retry-after')).toBeTruthy();
        const ready = await e2e().api.get('/ready');
        expect(ready.status).toBe(503);
        expect(ready.body).toMatchObject({ status: 'unavailable', checks: { temporal: 'ok' } });
        expect(ready.body.checks.postgres).not.toBe('ok');
      } finally {
        await held.release();
      }
      await eventually(
        'the platform to be ready again',
        async () => ((await e2e().api.get('/ready')).status === 200 ? true : undefined),
        { timeoutMs: 90_000, intervalMs: 500 },
      );
      expect(expectOk(await e2e().api.get('/api/v1/cart', { token: shop.token })).cart).toEqual([]);
    }, 120_000);
  });
}
