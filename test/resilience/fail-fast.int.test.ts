import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTemporalCheckoutSaga } from '../../api/checkout-saga.js';
import { createTemporalOrderLifecycle } from '../../api/order-lifecycle.js';
import { createTemporalProbe, type TemporalProbe } from '../../api/temporal-errors.js';
import { createDatabase, type Database } from '../../db/client.js';
import { runMigrations } from '../../db/migrate.js';
import { seedDatabase } from '../../db/seed.js';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../../scripts/provision/postgres.js';
import { freePort } from '../../scripts/provision/process.js';
import { startTemporalDevServer, type TemporalDevServer } from '../../scripts/provision/temporal.js';
import { bundleWorkflows, createActivities, createWorkers } from '../../workers/workers.js';
import {
  bearer,
  createTestApp,
  createTestServices,
  jsonRequest,
  type TestApp,
  userToken,
} from '../support/app.js';
import type { TestDatabase } from '../support/db.js';
import { expectProblem } from '../support/problem.js';
import { waitFor } from '../support/redis.js';

/**
 * Fail fast, recover alone: with Postgres or Temporal down, requests answer 503 within 2 s
 * instead of hanging, /ready names the culprit, and the first request after the server is back
 * succeeds without restarting anything. Both servers are this test's own, so it may stop them.
 */
const log = () => {};
let runDir: string;
let pgPort: number;
let pg: EmbeddedPostgres;
let database: Database;
let temporalPort: number;
let temporal: TemporalDevServer;
let clientConnection: Connection;
let workerConnection: NativeConnection;
let workers: Worker[] = [];
let running: Promise<void>[] = [];
let testApp: TestApp;
let probe: TemporalProbe;

const startPostgres = () =>
  startEmbeddedPostgres({
    dataDir: join(runDir, 'pg'),
    runDir,
    port: pgPort,
    strictPort: true,
    database: 'commerce',
    log,
  });
const startTemporal = () =>
  startTemporalDevServer({
    cliPath: inject('temporalCli'),
    runDir,
    port: temporalPort,
    uiPort: false,
    strictPorts: true,
    log,
  });

beforeAll(async () => {
  runDir = mkdtempSync(join(tmpdir(), 'commerce-fail-fast-'));
  chmodSync(runDir, 0o755);
  [pgPort, temporalPort] = [await freePort(), await freePort()];
  [pg, temporal] = await Promise.all([startPostgres(), startTemporal()]);
  await runMigrations(pg.url);
  database = createDatabase(pg.url, { max: 4 });
  await seedDatabase(database.db);

  [clientConnection, workerConnection] = await Promise.all([
    Connection.connect({ address: temporal.address }),
    NativeConnection.connect({ address: temporal.address }),
  ]);
  const client = new Client({ connection: clientConnection });
  probe = createTemporalProbe(temporal.address);
  const asTestDatabase = { ...database, url: pg.url, destroy: async () => {} } as TestDatabase;
  const services = createTestServices({ db: asTestDatabase });
  workers = await createWorkers(
    {
      connection: workerConnection,
      namespace: 'default',
      taskQueuePrefix: '',
      workflowBundle: await bundleWorkflows(),
    },
    createActivities({
      services,
      cartIdleMs: 90 * 86_400_000,
      reservationTtlMs: 300_000,
      reservationSweepGraceMs: 60_000,
      orderShipWindowMs: 30 * 86_400_000,
      orderDeliveryWindowMs: 60 * 86_400_000,
      isSagaRunning: async () => true,
    }),
  );
  running = workers.map((worker) => worker.run());
  testApp = createTestApp({
    db: asTestDatabase,
    services,
    readiness: {
      postgres: async () => {
        await database.db.execute(sql`select 1`);
        return 'ok';
      },
      temporal: async () => {
        await probe.check();
        return 'ok';
      },
    },
    checkout: { saga: createTemporalCheckoutSaga({ client, taskQueuePrefix: '', probe }), waitMs: 20_000 },
    orderLifecycle: createTemporalOrderLifecycle({ client, taskQueuePrefix: '', probe }),
  });
}, 180_000);

afterAll(async () => {
  for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
  await Promise.allSettled(running);
  await Promise.allSettled([
    clientConnection?.close(),
    workerConnection?.close(),
    probe?.close(),
    database?.close(),
  ]);
  await Promise.allSettled([pg?.stop(), temporal?.stop()]);
  if (runDir) rmSync(runDir, { recursive: true, force: true });
});

async function timed(request: () => Promise<Response>): Promise<{ response: Response; ms: number }> {
  const started = performance.now();
  const response = await request();
  return { response, ms: performance.now() - started };
}

const ready = async () =>
  (await testApp.app.request('/ready')).json() as Promise<{ checks: Record<string, string> }>;

describe('fail fast, recover alone', () => {
  it('Postgres stopped: a catalog read answers 503 within 2 s; the first read after it returns succeeds', async () => {
    expect((await testApp.app.request('/api/v1/products')).status).toBe(200);
    await pg.stop();
    const { response, ms } = await timed(async () => testApp.app.request('/api/v1/products'));
    await expectProblem(response, 503, 'service_unavailable');
    expect(ms).toBeLessThan(2_000);
    expect((await ready()).checks.postgres).not.toBe('ok');

    pg = await startPostgres();
    const after = await testApp.app.request('/api/v1/products');
    expect(after.status).toBe(200);
    expect(((await after.json()) as { products: unknown[] }).products).toHaveLength(5);
    expect((await ready()).checks.postgres).toBe('ok');
  });

  it('Temporal stopped: POST /checkout answers 503 within 2 s; the first checkout after it returns completes', async () => {
    const headers = bearer(await userToken(4242));
    const request = (key: string) =>
      testApp.app.request(
        '/api/v1/checkout',
        jsonRequest('POST', {}, { ...headers, 'Idempotency-Key': key }),
      );
    expect(
      (
        await testApp.app.request(
          '/api/v1/cart/items',
          jsonRequest('POST', { product_id: 3, quantity: 1 }, headers),
        )
      ).status,
    ).toBe(201);

    await temporal.stop();
    const { response, ms } = await timed(async () => request('while-down'));
    await expectProblem(response, 503, 'service_unavailable');
    expect(response.headers.get('retry-after')).toBe('1');
    expect(ms).toBeLessThan(2_000);
    expect((await ready()).checks.temporal).not.toBe('ok');

    temporal = await startTemporal();
    await waitFor('Temporal to answer again', async () => (await ready()).checks.temporal === 'ok', {
      timeoutMs: 30_000,
    });
    const first = await request('after-restart');
    expect(first.status, await first.clone().text()).toBe(201);
    expect(((await first.json()) as { status: string }).status).toBe('COMPLETED');
  });
});
