import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import autocannon from 'autocannon';
import { createApp } from '../api/app.js';
import { checkoutSagaUnavailable } from '../api/checkout-saga.js';
import { orderLifecycleUnavailable } from '../api/order-lifecycle.js';
import { createDatabase, type Database } from '../db/client.js';
import { runMigrations } from '../db/migrate.js';
import { seedDatabase } from '../db/seed.js';
import { systemClock } from '../lib/clock.js';
import { newId } from '../lib/ids.js';
import { signToken } from '../lib/jwt.js';
import { createLogger } from '../lib/logger.js';
import { createMetricsRegistry } from '../lib/metrics.js';
import { createRedisClient } from '../lib/redis.js';
import { startEmbeddedPostgres } from '../scripts/provision/postgres.js';
import { startLocalRedis } from '../scripts/provision/redis.js';
import { createServices } from '../services/index.js';

/** The bench's own in-process API: secrets that exist only for this run. */
const BENCH_JWT_SECRET = randomBytes(32).toString('base64url');
const BENCH_WEBHOOK_SECRET = randomBytes(32).toString('base64url');

/**
 * `npm run bench`: HTTP throughput and latency of the hot read paths, and reservation
 * throughput under contention, against real Postgres and Redis. Prints figures, the ratios
 * that matter (cache vs no cache) and the targets from the original project's plan.
 * Flags: --seconds N (per scenario, default 5), --connections N (default 32).
 */
const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '5' }, connections: { type: 'string', default: '32' } },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);

interface Figures {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

const results: Figures[] = [];
let cacheHitRate: number | undefined;
const logger = createLogger({ level: 'silent' });

async function main(): Promise<void> {
  const runDir = mkdtempSync(join(tmpdir(), 'commerce-bench-'));
  chmodSync(runDir, 0o755);
  const log = () => {};
  const pg = process.env.DATABASE_URL
    ? undefined
    : await startEmbeddedPostgres({ dataDir: join(runDir, 'pg'), runDir, database: 'bench', log });
  const databaseUrl = process.env.DATABASE_URL ?? pg?.url ?? '';
  const redisServer = process.env.REDIS_URL ? undefined : await startLocalRedis({ runDir, log });
  const redisUrl = process.env.REDIS_URL ?? redisServer?.url;
  await runMigrations(databaseUrl);
  const database = createDatabase(databaseUrl, { max: 20, applicationName: 'commerce-bench' });
  await seedDatabase(database.db);

  try {
    const token = await signToken(BENCH_JWT_SECRET, { userId: 7 });
    const auth = { authorization: `Bearer ${token}` };

    const withCache = await startServer(database, redisUrl);
    const withoutCache = await startServer(database, undefined);
    try {
      for (const productId of [1, 2, 3, 4, 5]) {
        await fetch(`${withCache.url}/api/v1/cart/items`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ product_id: productId, quantity: 2 }),
        });
      }
      await load('GET /api/v1/products (catalog page)', `${withCache.url}/api/v1/products`);
      await load('GET /api/v1/products/1', `${withCache.url}/api/v1/products/1`);
      if (redisUrl) await load('GET /api/v1/cart (Redis cache)', `${withCache.url}/api/v1/cart`, auth);
      await load('GET /api/v1/cart (Postgres only)', `${withoutCache.url}/api/v1/cart`, auth);
      if (redisUrl) {
        const stats = withCache.services.cart.cacheStats?.();
        if (stats) {
          cacheHitRate = stats.hitRate;
          console.log(
            `cart cache: ${stats.hits} hits, ${stats.misses} misses, hit rate ${(stats.hitRate * 100).toFixed(1)}%`,
          );
        }
      }
      await reservations(withCache.services);
    } finally {
      await withCache.close();
      await withoutCache.close();
    }
  } finally {
    await database.close();
    await redisServer?.stop();
    await pg?.stop();
    rmSync(runDir, { recursive: true, force: true });
  }
  report();
}

async function startServer(database: Database, redisUrl: string | undefined) {
  const redis = redisUrl ? createRedisClient(redisUrl, logger, 'commerce-bench') : undefined;
  const metrics = createMetricsRegistry();
  const services = createServices({
    db: database.db,
    redis,
    logger,
    metrics,
    clock: systemClock,
    cart: { cacheTtlMs: 15 * 60_000, cacheJitterMs: 5 * 60_000 },
    payments: { failureRate: 0 },
  });
  const app = createApp({
    logger,
    auth: { secret: BENCH_JWT_SECRET, maxAgeMs: 24 * 3_600_000 },
    requestTimeoutMs: 30_000,
    metrics,
    readiness: {},
    services,
    checkout: { saga: checkoutSagaUnavailable(), waitMs: 0, webhookSecret: BENCH_WEBHOOK_SECRET },
    orderLifecycle: orderLifecycleUnavailable(),
  });
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    services,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await redis?.quit();
    },
  };
}

async function load(name: string, url: string, headers: Record<string, string> = {}): Promise<void> {
  const result = await autocannon({ url, connections, duration: seconds, headers, workers: 1 });
  const figures = {
    name,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
  };
  results.push(figures);
  console.log(
    `${name}: ${figures.rps.toFixed(0)} req/s, p50 ${figures.p50} ms, p99 ${figures.p99} ms, errors ${figures.errors}`,
  );
}

/** Checkouts racing for one product: throughput of reserve+release and proof nothing oversold. */
async function reservations(services: ReturnType<typeof createServices>): Promise<void> {
  const { inventory } = services;
  await inventory.setOnHand(4, 1_000);
  const deadline = Date.now() + seconds * 1000;
  let ops = 0;
  let refused = 0;
  const worker = async () => {
    while (Date.now() < deadline) {
      const checkoutId = newId();
      try {
        await inventory.reserve(
          checkoutId,
          [
            { productId: 4, quantity: 3 },
            { productId: 2, quantity: 1 },
          ],
          60_000,
        );
        await inventory.release(checkoutId);
        ops++;
      } catch {
        refused++;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: 16 }, worker));
  const elapsed = (performance.now() - started) / 1000;
  const stock = await inventory.getStock(4);
  const rps = ops / elapsed;
  results.push({
    name: 'reserve+release, 16 concurrent, hot product',
    rps,
    p50: Number.NaN,
    p99: Number.NaN,
    errors: refused,
  });
  console.log(
    `reserve+release (16 concurrent checkouts, one hot product): ${rps.toFixed(0)} cycles/s, refused ${refused}, reserved after: ${stock.reserved}`,
  );
  if (stock.reserved !== 0) throw new Error(`stock leaked: ${stock.reserved} still reserved`);
}

function report(): void {
  const find = (prefix: string) => results.find((r) => r.name.startsWith(prefix));
  const cached = find('GET /api/v1/cart (Redis');
  const uncached = find('GET /api/v1/cart (Postgres');
  const catalog = find('GET /api/v1/products (');
  console.log('\nSummary');
  console.table(
    results.map((r) => ({
      scenario: r.name,
      'req/s': Math.round(r.rps),
      'p50 ms': Number.isNaN(r.p50) ? '' : r.p50,
      'p99 ms': Number.isNaN(r.p99) ? '' : r.p99,
      errors: r.errors,
    })),
  );
  if (cached && uncached) {
    console.log(`cart read, cache / no cache throughput ratio: ${(cached.rps / uncached.rps).toFixed(2)}x`);
  }
  console.log('Targets from the original plan (informational):');
  if (catalog)
    console.log(
      `  catalog reads > 1000 req/s: ${catalog.rps.toFixed(0)} ${catalog.rps > 1000 ? 'met' : 'NOT met'}`,
    );
  if (cached)
    console.log(
      `  cache-hit cart reads p99 < 200 ms: ${cached.p99} ms ${cached.p99 < 200 ? 'met' : 'NOT met'}`,
    );
  if (cacheHitRate !== undefined) {
    const percent = (cacheHitRate * 100).toFixed(1);
    console.log(
      `  Redis hit rate on repeated cart reads > 80%: ${percent}% ${cacheHitRate > 0.8 ? 'met' : 'NOT met'}`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
