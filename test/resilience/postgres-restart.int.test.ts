import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDatabase } from '../../db/client.js';
import { runMigrations } from '../../db/migrate.js';
import { seedDatabase } from '../../db/seed.js';
import { signToken } from '../../infra/jwt.js';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../../scripts/provision/postgres.js';
import { freePort } from '../../scripts/provision/process.js';
import { TEST_JWT_SECRET } from '../support/app.js';
import { type PlatformProcess, startPlatformProcess } from '../support/platform-process.js';
import { seededRandom } from '../support/random.js';
import { waitFor } from '../support/redis.js';
import { deleteTestSchedules } from '../support/temporal.js';

/**
 * Crash-only: Postgres restarted (fast shutdown, back a second later) ten times under cart
 * traffic with a checkout in flight each time. The API and the worker are the real entry points
 * in their own processes; neither may exit, every request must get an answer (a result or 503),
 * and every checkout must end in a final state its stock and payment agree with.
 */
const RESTARTS = 10;
const SHOPPERS = 6;
const REQUEST_TIMEOUT_MS = 20_000;

let runDir: string;
let pg: EmbeddedPostgres;
let port: number;
let api: PlatformProcess;
let worker: PlatformProcess;
let baseUrl: string;
let prefix: string;
const log = () => {};

async function startPostgres(): Promise<EmbeddedPostgres> {
  return startEmbeddedPostgres({ dataDir: join(runDir, 'pg'), runDir, port, database: 'commerce', log });
}

beforeAll(async () => {
  runDir = mkdtempSync(join(tmpdir(), 'commerce-pg-restart-'));
  chmodSync(runDir, 0o755);
  port = await freePort();
  pg = await startPostgres();
  await runMigrations(pg.url);
  const database = createDatabase(pg.url, { max: 1 });
  await seedDatabase(database.db);
  await database.close();

  prefix = `pgr${Date.now().toString(36)}`;
  const httpPort = await freePort();
  baseUrl = `http://127.0.0.1:${httpPort}`;
  const common = { databaseUrl: pg.url, redisUrl: inject('redisUrl'), taskQueuePrefix: prefix };
  // Started one after the other so a failure leaves nothing running that afterAll cannot stop.
  api = await startPlatformProcess('api', {
    ...common,
    // Six shoppers in tight loops: a load test, not a test of the per-user limits.
    env: { HTTP_PORT: String(httpPort), HTTP_HOST: '127.0.0.1', RATE_LIMIT_RPS: '0' },
    // All of it: an unexpected answer is explained by the API's own error line.
    keepOutputBytes: 64 * 1024 * 1024,
  });
  worker = await startPlatformProcess('worker', common);
}, 180_000);

afterAll(async () => {
  await Promise.allSettled([api?.stop(), worker?.stop()]);
  await deleteTestSchedules(prefix);
  await pg?.stop();
  if (runDir) rmSync(runDir, { recursive: true, force: true });
});

type Outcome = number | 'no answer';

async function call(
  token: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  try {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    return {
      status: response.status as Outcome,
      body: (await response.json().catch(() => ({}))) as Record<string, unknown>,
    };
  } catch {
    return { status: 'no answer' as Outcome, body: {} };
  }
}

describe('Postgres restarted under traffic', () => {
  it(`survives ${RESTARTS} restarts: no process exits, every request answered, every checkout consistent`, async () => {
    const random = seededRandom(20261126);
    const tokens = await Promise.all(
      Array.from({ length: SHOPPERS + RESTARTS }, (_, i) =>
        signToken(TEST_JWT_SECRET, { userId: 9_000_000 + i }),
      ),
    );
    const outcomes = new Map<string, number>();
    const record = (kind: string, status: Outcome) => {
      const key = `${kind} ${status}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    };

    let running = true;
    const traffic = tokens.slice(0, SHOPPERS).map(async (token) => {
      while (running) {
        const product = 1 + Math.floor(random() * 5);
        const pick = random();
        if (pick < 0.4) record('GET cart', (await call(token, 'GET', '/api/v1/cart')).status);
        else if (pick < 0.7)
          record(
            'POST item',
            (
              await call(token, 'POST', '/api/v1/cart/items', {
                product_id: product,
                quantity: 1 + Math.floor(random() * 3),
              })
            ).status,
          );
        else if (pick < 0.85)
          record(
            'PUT item',
            (await call(token, 'PUT', `/api/v1/cart/items/${product}`, { quantity: 2 })).status,
          );
        else record('DELETE item', (await call(token, 'DELETE', `/api/v1/cart/items/${product}`)).status);
      }
    });

    const checkouts: string[] = [];
    for (let round = 0; round < RESTARTS; round++) {
      const token = tokens[SHOPPERS + round] as string;
      await waitFor(
        'Postgres to serve the API',
        async () => {
          for (const [name, child] of [
            ['api', api],
            ['worker', worker],
          ] as const) {
            const exit = child.exited();
            if (exit !== undefined)
              throw new Error(`the ${name} process exited (${exit}):\n${child.output().slice(-2000)}`);
          }
          return (
            (await call(token, 'POST', '/api/v1/cart/items', { product_id: 2, quantity: 1 })).status === 201
          );
        },
        {
          timeoutMs: 60_000,
          intervalMs: 200,
        },
      );
      // The same key until the checkout is accepted: a retry after a 503 is the same checkout.
      const checkout = () =>
        call(
          token,
          'POST',
          '/api/v1/checkout',
          {},
          { 'Idempotency-Key': `restart-${round}`, Prefer: 'respond-async' },
        );
      let started = await checkout();
      record('POST checkout', started.status);
      while (started.status === 503) {
        started = await checkout();
        record('POST checkout', started.status);
      }
      if (typeof started.body.checkout_id === 'string') checkouts.push(started.body.checkout_id);
      await pg.stop();
      await sleep(1_000);
      pg = await startPostgres();
      await sleep(500);
    }
    await sleep(1_000);
    running = false;
    await Promise.all(traffic);

    // Neither process died.
    expect(api.exited(), api.output().slice(-2000)).toBeUndefined();
    expect(worker.exited(), worker.output().slice(-2000)).toBeUndefined();
    expect(`${api.output()}${worker.output()}`).not.toContain("reading 'write'");

    // Every request got an answer: a result, or 503 while Postgres was away.
    const allowed = new Set([
      'GET cart 200',
      'POST item 201',
      'PUT item 200',
      'PUT item 404',
      'DELETE item 200',
      'POST checkout 202',
    ]);
    const unexpected = [...outcomes].filter(([key]) => !allowed.has(key) && !key.endsWith(' 503'));
    // What explains an unexpected answer first (a 500's own lines, anything not a JSON log line,
    // such as the HTTP server's last-resort error), then the 503s: a report may keep only its head.
    const apiLines = api.output().split('\n');
    const telling = apiLines.filter(
      (line) =>
        line.trim() !== '' &&
        (!line.startsWith('{') || line.includes('"status":500') || line.includes('unhandled error')),
    );
    const errorLines = apiLines.filter((line) => line.includes('"level":"error"') && !telling.includes(line));
    expect(
      unexpected,
      `${JSON.stringify([...outcomes])}\n${[...telling, ...errorLines].join('\n').slice(0, 20_000)}`,
    ).toEqual([]);
    expect([...outcomes.keys()].some((key) => key.endsWith(' 503'))).toBe(true);
    expect(checkouts).toHaveLength(RESTARTS);

    // Every checkout reaches a final state that its stock and payment agree with.
    const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
    try {
      await waitFor(
        'every checkout to end',
        async () => {
          const rows = await sql<{ n: number }[]>`
            select count(*)::int as n from checkouts where id in ${sql(checkouts)}
            and status in ('COMPLETED', 'FAILED', 'CANCELLED')`;
          return rows[0]?.n === checkouts.length;
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      );
      const rows = await sql<
        { status: string; payment: string | null; orders: number; reserved: number; committed: number }[]
      >`
        select c.status, p.status as payment,
          (select count(*)::int from orders o where o.checkout_id = c.id) as orders,
          (select count(*)::int from reservations r where r.checkout_id = c.id and r.status = 'RESERVED') as reserved,
          (select count(*)::int from reservations r where r.checkout_id = c.id and r.status = 'COMMITTED') as committed
        from checkouts c left join payments p on p.checkout_id = c.id where c.id in ${sql(checkouts)}`;
      for (const row of rows) {
        expect(row.reserved, JSON.stringify(row)).toBe(0);
        if (row.status === 'COMPLETED') {
          expect(row, JSON.stringify(row)).toMatchObject({ payment: 'CAPTURED', orders: 1, committed: 1 });
        } else {
          expect(['CAPTURED'], JSON.stringify(row)).not.toContain(row.payment);
        }
      }
      const [stock] = await sql<{ bad: number }[]>`
        select count(*)::int as bad from inventory i
        where i.reserved <> (select coalesce(sum(quantity), 0) from reservations r where r.product_id = i.product_id and r.status = 'RESERVED')`;
      expect(stock?.bad).toBe(0);
    } finally {
      await sql.end({ timeout: 1 });
    }
  }, 600_000);
});
