import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { findErrorCode } from '../lib/errors.js';
import * as schema from './schema.js';
import { traceSql } from './tracing.js';

export type Db = PostgresJsDatabase<typeof schema>;
/** A transaction handle; services accept `Db | Tx` where callers need atomicity across services. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type DbOrTx = Db | Tx;

export interface Database {
  db: Db;
  sql: postgres.Sql;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  max?: number;
  applicationName?: string;
  /** Cancels a statement running longer than this (Postgres `statement_timeout`); none when absent. */
  statementTimeoutMs?: number;
  /** Gives up waiting for a row or table lock after this (`lock_timeout`); none when absent. */
  lockTimeoutMs?: number;
  /** A span per statement for OpenTelemetry (when the process set tracing up). */
  traced?: boolean;
}

/** Opens the process's one connection pool. Call `close()` on shutdown. */
export function createDatabase(url: string, options: DatabaseOptions = {}): Database {
  const sql = postgres(url, {
    max: options.max ?? 10,
    idle_timeout: 30,
    // Fail fast: an unreachable server answers 503 within seconds instead of holding the request.
    connect_timeout: 2,
    // The driver's default waits up to 20 s between reconnects after repeated failures, so a pool
    // that saw an outage keeps refusing work long after Postgres is back; cap the wait at 1 s.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
    onnotice: () => {},
    // Session settings sent at connect: a slow statement or a lock wait can hold a pooled
    // connection only this long, so a few of them cannot starve the whole pool.
    connection: {
      application_name: options.applicationName ?? 'commerce',
      ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
      ...(options.lockTimeoutMs ? { lock_timeout: options.lockTimeoutMs } : {}),
      ...(options.statementTimeoutMs
        ? { idle_in_transaction_session_timeout: options.statementTimeoutMs * 6 }
        : {}),
    },
  });
  const client = options.traced ? traceSql(sql, new URL(url).pathname.slice(1) || 'postgres') : sql;
  const db = drizzle(client, { schema, casing: 'snake_case' });
  return { db, sql, close: () => sql.end({ timeout: 5 }) };
}

/** Postgres error codes the services map to business outcomes. */
export const PG = {
  queryCanceled: '57014',
  lockNotAvailable: '55P03',
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
} as const;

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** The SQLSTATE of a Postgres error, looking through drizzle's wrapper. */
export function pgErrorCode(error: unknown): string | undefined {
  return findErrorCode(error, (code) => SQLSTATE.test(code));
}
