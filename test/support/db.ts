import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import { createDatabase, type Database } from '../../db/client.js';

export interface TestDatabase extends Database {
  url: string;
  /** Closes the pool and drops the database. */
  destroy(): Promise<void>;
}

/** A fresh database for one test file: a clone of the migrated, seeded template. */
export async function createTestDatabase(
  options: { max?: number; statementTimeoutMs?: number; lockTimeoutMs?: number; traced?: boolean } = {},
): Promise<TestDatabase> {
  const adminUrl = inject('pgAdminUrl');
  const name = `commerce_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}" template "${inject('pgTemplate')}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = createDatabase(url.toString(), {
    max: options.max ?? 10,
    applicationName: 'commerce-test',
    ...(options.statementTimeoutMs ? { statementTimeoutMs: options.statementTimeoutMs } : {}),
    ...(options.lockTimeoutMs ? { lockTimeoutMs: options.lockTimeoutMs } : {}),
    ...(options.traced ? { traced: true } : {}),
  });
  return {
    ...database,
    url: url.toString(),
    async destroy() {
      await database.close();
      const dropper = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await dropper.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await dropper.end();
      }
    },
  };
}
