import { readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createDatabase } from '../db/client.js';
import { runMigrations } from '../db/migrate.js';
import { seedDatabase } from '../db/seed.js';
import { ConfigError, loadConfig } from '../infra/config.js';
import { localSecretsFile, resolveSecrets } from '../infra/local-secrets.js';
import { SUPERVISOR_PID_FLAG } from '../infra/supervisor-watch.js';
import { startEmbeddedPostgres } from './provision/postgres.js';
import { type ManagedProcess, spawnManaged } from './provision/process.js';
import { startLocalRedis } from './provision/redis.js';
import { createSupervisor, type Incarnation } from './provision/supervisor.js';
import { findOrInstallTemporalCli, startTemporalDevServer } from './provision/temporal.js';

/**
 * `npm start`: the whole platform on one machine with nothing to configure. Starts (or uses,
 * when their URLs are set) Postgres, Redis and the Temporal dev server, applies migrations and
 * the seed, then runs the worker and the API as child processes, and keeps all of them running:
 * whatever it started and then exits unasked is restarted with backoff, servers on the same
 * port and data, so the others reconnect by themselves. Ctrl-C stops everything in order: API
 * and worker drain first, then Temporal, Redis and Postgres; a second Ctrl-C kills what is left.
 * Killed hard (SIGKILL), it stops nothing: the API and worker notice and drain by themselves, and
 * the next start on the same data directory clears the servers it left running.
 */
const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const log = (message: string) => console.log(`[start] ${message}`);

const STOP_ORDER = [['api', 'worker'], ['temporal'], ['redis'], ['postgres']];
const CHILD_DRAIN_MS = 20_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const dataDir = resolve(ROOT, config.dataDir);
  const runDir = join(dataDir, 'run');
  const supervisor = createSupervisor({ log });

  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log('stopping (Ctrl-C again to kill what is left)...');
    await supervisor.stop(STOP_ORDER);
    log('stopped');
    process.exit(code);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (!stopping) {
      void shutdown(0);
      return;
    }
    // The exit hook of provision/process.ts kills every process group still alive.
    log(`${signal} again: killing what is left`);
    process.exit(128 + constants.signals[signal]);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);

  try {
    await clearLeftovers(runDir);
    const [databaseUrl, redisUrl, temporal] = await Promise.all([
      (async () => {
        if (config.database.url) return config.database.url;
        const options = {
          dataDir: join(dataDir, 'postgres'),
          runDir,
          port: 54329,
          database: 'commerce',
          log,
        };
        const pg = await startEmbeddedPostgres(options);
        supervisor.watch('postgres', serverIncarnation(pg), async () =>
          serverIncarnation(await startEmbeddedPostgres({ ...options, port: pg.port, strictPort: true })),
        );
        return pg.url;
      })(),
      (async () => {
        if (config.redis.url) return config.redis.url;
        const redis = await startLocalRedis({ runDir, port: 6380, log });
        if (!redis) {
          log(
            'redis-server is not installed and REDIS_URL is not set: running without Redis (no cart cache, per-process rate limits)',
          );
          return undefined;
        }
        supervisor.watch('redis', serverIncarnation(redis), async () => {
          const again = await startLocalRedis({ runDir, port: redis.port, strictPort: true, log });
          if (!again) throw new Error('redis-server is no longer installed');
          return serverIncarnation(again);
        });
        return redis.url;
      })(),
      (async () => {
        if (config.temporal.address) return { address: config.temporal.address, uiUrl: undefined };
        const cliPath = await findOrInstallTemporalCli({ cliPath: config.temporal.cliPath, log });
        const options = {
          cliPath,
          runDir,
          dbFile: join(dataDir, 'temporal.sqlite'),
          port: config.temporal.port,
          uiPort: config.temporal.uiPort,
          namespace: config.temporal.namespace,
          log,
        };
        const server = await startTemporalDevServer(options);
        supervisor.watch('temporal', serverIncarnation(server), async () =>
          serverIncarnation(
            await startTemporalDevServer({
              ...options,
              port: server.port,
              uiPort: server.uiPort ?? false,
              strictPorts: true,
            }),
          ),
        );
        return server;
      })(),
    ]);

    await runMigrations(databaseUrl);
    const database = createDatabase(databaseUrl, { max: 1 });
    await seedDatabase(database.db);
    await database.close();
    log('database migrated and seeded');
    if (stopping) return;

    // JWT_SECRET and PAYMENT_WEBHOOK_SECRET when set, else this data directory's own random ones
    // (never a published default): `npm run token` reads the same file.
    const secrets = resolveSecrets({ ...config, dataDir });
    const env = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl ?? '',
      TEMPORAL_ADDRESS: temporal.address,
      JWT_SECRET: secrets.jwtSecret,
      PAYMENT_WEBHOOK_SECRET: secrets.webhookSecret,
    };
    for (const [name, entry] of [
      ['worker', 'workers/main.ts'],
      ['api', 'api/server.ts'],
    ] as const) {
      const spawnRole = () =>
        childIncarnation(
          // With our pid, the role notices when we are gone without stopping it (SIGKILL) and drains.
          spawnManaged(
            name,
            process.execPath,
            ['--import', 'tsx', join(ROOT, entry), `${SUPERVISOR_PID_FLAG}=${process.pid}`],
            {
              runDir,
              cwd: ROOT,
              env,
              output: 'inherit',
            },
          ),
        );
      supervisor.watch(name, spawnRole(), async () => spawnRole());
    }

    const apiUrl = `http://${config.http.host === '0.0.0.0' ? 'localhost' : config.http.host}:${config.http.port}`;
    const healthy = await waitForHttp(`${apiUrl}/health`, {
      until: () => stopping,
      patienceMs: 60_000,
      onImpatient: () =>
        log(`the API does not answer ${apiUrl}/health yet (its output above says why); still waiting`),
    });
    if (!healthy) return;
    console.log(
      [
        '',
        'The platform is up:',
        `  API            ${apiUrl}/api/v1/products`,
        `  API reference  ${apiUrl}/docs   (OpenAPI: ${apiUrl}/openapi.json)`,
        `  Readiness      ${apiUrl}/ready   Metrics: ${apiUrl}/metrics`,
        `  Temporal UI    ${temporal.uiUrl ?? '(external Temporal; use its own UI)'}`,
        `  Temporal       ${temporal.address}   (temporal workflow list --address ${temporal.address})`,
        `  Postgres       ${databaseUrl.replace(/:[^:@/]+@/, ':***@')}`,
        `  Redis          ${redisUrl ?? 'disabled'}`,
        `  A token:       npm run token -- --user 42   (admin: add --admin; secrets in ${config.auth.jwtSecret ? 'JWT_SECRET' : localSecretsFile(dataDir)})`,
        'What was started here is restarted if it crashes. Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    await shutdown(1);
  }
}

/**
 * A supervisor killed hard (SIGKILL) stops nothing: its API and worker notice and exit by
 * themselves, but Postgres, Redis and Temporal run on. Kills the process groups the pid files of
 * this data directory still name and waits until they are gone, so each server starts again on its
 * port and data: a postmaster still exiting would make the new one refuse its data directory.
 */
async function clearLeftovers(runDir: string): Promise<void> {
  let files: string[];
  try {
    files = readdirSync(runDir).filter((file) => file.endsWith('.pid'));
  } catch {
    return;
  }
  const groupAlive = (pid: number) => {
    try {
      process.kill(-pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  };
  const left = files
    .map((file) => ({
      name: file.slice(0, -'.pid'.length),
      pid: Number(readFileSync(join(runDir, file), 'utf8')),
    }))
    .filter(({ pid }) => Number.isInteger(pid) && pid > 1 && groupAlive(pid));
  if (left.length === 0) return;
  log(
    `killing what an earlier run left behind: ${left.map(({ name, pid }) => `${name} (pid ${pid})`).join(', ')}`,
  );
  for (const { pid } of left) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  const deadline = Date.now() + 10_000;
  while (left.some(({ pid }) => groupAlive(pid)) && Date.now() < deadline) await sleep(50);
}

/** A backing server: stopped the way its provisioning module knows (Postgres's fast shutdown, ...). */
function serverIncarnation(server: { process: ManagedProcess; stop(): Promise<void> }): Incarnation {
  return { pid: server.process.pid, exited: server.process.exited, stop: server.stop };
}

/** The API or the worker: SIGTERM lets it drain; SIGKILL after CHILD_DRAIN_MS. */
function childIncarnation(child: ManagedProcess): Incarnation {
  return { pid: child.pid, exited: child.exited, stop: () => child.stop('SIGTERM', CHILD_DRAIN_MS) };
}

/** Polls `url` until it answers 2xx (true) or `until` holds (false); calls `onImpatient` once after `patienceMs`. */
async function waitForHttp(
  url: string,
  options: { until: () => boolean; patienceMs: number; onImpatient: () => void },
): Promise<boolean> {
  const impatientAt = Date.now() + options.patienceMs;
  let impatient = false;
  while (!options.until()) {
    try {
      if ((await fetch(url)).ok) return true;
    } catch {
      // not listening yet
    }
    if (!impatient && Date.now() > impatientAt) {
      impatient = true;
      options.onImpatient();
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
