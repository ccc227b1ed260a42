import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import postgres from 'postgres';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { SEARCH_ATTRIBUTES } from '../../lib/search-attributes.js';
import { startEmbeddedPostgres } from './postgres.js';
import { findOrInstallTemporalCli } from './temporal.js';

const runDir = mkdtempSync(join(tmpdir(), 'commerce-provision-'));
chmodSync(runDir, 0o755);
const log = () => {};

afterAll(() => rmSync(runDir, { recursive: true, force: true }));

describe('provisioning', () => {
  it('keeps embedded Postgres data across restarts of the same data directory', async () => {
    const dataDir = join(runDir, 'pg');
    const first = await startEmbeddedPostgres({ dataDir, runDir, database: 'shop', log });
    let sql = postgres(first.url, { max: 1, onnotice: () => {} });
    await sql`create table kept (value text)`;
    await sql`insert into kept values ('still here')`;
    await sql.end();
    await first.stop();

    const second = await startEmbeddedPostgres({ dataDir, runDir, database: 'shop', log });
    sql = postgres(second.url, { max: 1, onnotice: () => {} });
    try {
      expect(await sql`select value from kept`).toEqual([{ value: 'still here' }]);
    } finally {
      await sql.end();
      await second.stop();
    }
  });

  it('registers the project search attributes on the dev server', async () => {
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({
        namespace: 'default',
      });
      expect(Object.keys(customAttributes ?? {})).toEqual(
        expect.arrayContaining(Object.keys(SEARCH_ATTRIBUTES)),
      );
    } finally {
      await connection.close();
    }
  });

  it('explains how to get the Temporal CLI when TEMPORAL_CLI_PATH is wrong', async () => {
    await expect(
      findOrInstallTemporalCli({ cliPath: join(runDir, 'missing-temporal'), log }),
    ).rejects.toThrow(/TEMPORAL_CLI_PATH=.*missing-temporal is not an executable file/);
  });
});
