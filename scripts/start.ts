import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatabase } from '../db/client.js';
import { runMigrations } from '../db/migrate.js';
import { seedDatabase } from '../db/seed.js';
import { ConfigError, loadConfig } from '../lib/config.js';
import { startEmbeddedPostgres } from './provision/postgres.js';
import { startLocalRedis } from './provision/redis.js';
import { findOrInstallTemporalCli, startTemporalDevServer } from './provision/temporal.js';

/**
 * `npm start`: the whole platform on one machine with nothing to configure. Starts (or uses,
 * when their URLs are set) Postgres, Redis and the Temporal dev server, applies migrations and
 * the seed, then runs the worker and the API as child processes. Ctrl-C stops everything in
 * order: API and worker drain first, then Temporal, Redis and Postgres.
 */
const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const log = (message: string) => console.log(`[start] ${message}`);

async function main(): Promise<void> {
  const config = loadConfig();
  const dataDir = resolve(ROOT, config.dataDir);
  const runDir = join(dataDir, 'run');
  const stops: Array<{ name: string; stop: () => Promise<void> }> = [];
  const children: ChildProcess[] = [];
  let stopping = false;

  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log('stopping...');
    await Promise.all(children.map((child) => stopChild(child)));
    for (const { name, stop } of stops.reverse()) {
      await stop().catch((error: unknown) => log(`could not stop ${name}: ${String(error)}`));
    }
    log('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  try {
    const [databaseUrl, redisUrl, temporal] = await Promise.all([
      (async () => {
        if (config.database.url) return config.database.url;
        const pg = await startEmbeddedPostgres({
          dataDir: join(dataDir, 'postgres'),
          runDir,
          port: 54329,
          database: 'commerce',
          log,
        });
        stops.push({ name: 'postgres', stop: pg.stop });
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
        stops.push({ name: 'redis', stop: redis.stop });
        return redis.url;
      })(),
      (async () => {
        if (config.temporal.address) return { address: config.temporal.address, uiUrl: undefined };
        const cliPath = await findOrInstallTemporalCli({ cliPath: config.temporal.cliPath, log });
        const server = await startTemporalDevServer({
          cliPath,
          runDir,
          dbFile: join(dataDir, 'temporal.sqlite'),
          port: config.temporal.port,
          uiPort: config.temporal.uiPort,
          namespace: config.temporal.namespace,
          log,
        });
        stops.push({ name: 'temporal', stop: server.stop });
        return server;
      })(),
    ]);

    await runMigrations(databaseUrl);
    const database = createDatabase(databaseUrl, { max: 1 });
    await seedDatabase(database.db);
    await database.close();
    log('database migrated and seeded');

    const env = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl ?? '',
      TEMPORAL_ADDRESS: temporal.address,
    };
    for (const entry of ['workers/main.ts', 'api/server.ts']) {
      // Own process group: a terminal Ctrl-C reaches only this supervisor, which then sends each
      // child exactly one SIGTERM and waits for it to drain.
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, entry)], {
        cwd: ROOT,
        env,
        stdio: 'inherit',
        detached: true,
      });
      children.push(child);
      process.once('exit', () => child.kill('SIGKILL'));
      child.once('exit', (code, signal) => {
        if (stopping) return;
        log(`${entry} exited unexpectedly (${signal ?? `code ${code}`}); shutting down`);
        void shutdown(1);
      });
    }

    const apiUrl = `http://localhost:${config.http.port}`;
    await waitForHttp(`${apiUrl}/health`, 60_000);
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
        `  A token:       npm run token -- --user 42   (admin: add --admin)`,
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    await shutdown(1);
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    child.kill('SIGTERM');
  });
}

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
