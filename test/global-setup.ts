import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { createDatabase } from '../db/client.js';
import { runMigrations } from '../db/migrate.js';
import { seedDatabase } from '../db/seed.js';
import { loadConfig } from '../infra/config.js';
import { createDatabaseIfMissing, startEmbeddedPostgres } from '../scripts/provision/postgres.js';
import { startLocalRedis } from '../scripts/provision/redis.js';
import { findOrInstallTemporalCli, startTemporalDevServer } from '../scripts/provision/temporal.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of a maintenance database on the test cluster, for CREATE DATABASE. */
    pgAdminUrl: string;
    /** A migrated, seeded database each test file clones. */
    pgTemplate: string;
    /** Empty when no Redis is available (Redis tests are then skipped, except under REQUIRE_REDIS=1). */
    redisUrl: string;
    temporalAddress: string;
    /** The official `temporal` CLI, for tests that steer workflows as an operator would. */
    temporalCli: string;
  }
}

const log = (message: string) => console.log(`[test setup] ${message}`);

/**
 * Starts the real components once for the whole integration run: Postgres (DATABASE_URL or
 * embedded), Redis (REDIS_URL or a local redis-server) and the Temporal dev server
 * (TEMPORAL_ADDRESS or the official CLI). Each test file then isolates itself: its own
 * database cloned from a migrated template, its own task queues.
 */
export default async function setup(project: TestProject) {
  // The same variables as the platform (DATABASE_URL, REDIS_URL, TEMPORAL_ADDRESS, ...), validated
  // the same way; REQUIRE_REDIS is a test-only switch that CI sets.
  const config = loadConfig();
  const requireRedis = process.env.REQUIRE_REDIS === '1';
  const runDir = mkdtempSync(join(tmpdir(), 'commerce-test-'));
  // As root, Postgres runs as the postgres user, which must be able to enter this directory.
  chmodSync(runDir, 0o755);
  const stops: Array<() => Promise<void>> = [];

  const [pg, redis, temporal] = await Promise.all([
    (async () => {
      const external = config.database.url;
      if (external) {
        const admin = new URL(external);
        admin.pathname = '/postgres';
        return { adminUrl: admin.toString() };
      }
      const server = await startEmbeddedPostgres({
        dataDir: join(runDir, 'pg'),
        runDir,
        database: 'postgres',
        log,
      });
      stops.push(server.stop);
      return { adminUrl: server.adminUrl };
    })(),
    (async () => {
      if (config.redis.url) return config.redis.url;
      const server = await startLocalRedis({ runDir, log });
      if (!server) {
        if (requireRedis) throw new Error('REQUIRE_REDIS=1 but no REDIS_URL and no redis-server');
        log(
          'no Redis available: tests that need Redis will be skipped (install redis-server or set REDIS_URL)',
        );
        return '';
      }
      stops.push(server.stop);
      return server.url;
    })(),
    (async () => {
      const cliPath = await findOrInstallTemporalCli({ cliPath: config.temporal.cliPath, log });
      if (config.temporal.address) return { address: config.temporal.address, cliPath };
      const server = await startTemporalDevServer({ cliPath, runDir, uiPort: false, log });
      stops.push(server.stop);
      return { address: server.address, cliPath };
    })(),
  ]);

  const template = `commerce_template_${process.pid}`;
  await createDatabaseIfMissing(pg.adminUrl, template);
  const templateUrl = withDatabase(pg.adminUrl, template);
  await runMigrations(templateUrl);
  const database = createDatabase(templateUrl, { max: 1 });
  await seedDatabase(database.db);
  await database.close();

  project.provide('pgAdminUrl', pg.adminUrl);
  project.provide('pgTemplate', template);
  project.provide('redisUrl', redis);
  project.provide('temporalAddress', temporal.address);
  project.provide('temporalCli', temporal.cliPath);

  return async () => {
    await dropDatabase(pg.adminUrl, template).catch(() => {});
    const started = Date.now();
    for (const stop of stops.reverse()) await stop().catch(() => {});
    log(`stopped test servers in ${Date.now() - started} ms`);
    rmSync(runDir, { recursive: true, force: true });
  };
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const { default: postgres } = await import('postgres');
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`drop database if exists "${name}" with (force)`);
  } finally {
    await sql.end();
  }
}
