import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/support/db.js';

/**
 * postgres.js 3.4.9 dereferences a closed connection's null socket from a setImmediate
 * (porsager/postgres#1066, #1154, #1208; fixes proposed in #1168, #1176, #1209, unmerged), which
 * kills the process from a timer no try/catch reaches. `patches/postgres+3.4.9.patch`, applied by
 * patch-package on install, makes those writes reject with CONNECTION_CLOSED instead. This test
 * runs the same scenarios against the installed (patched) driver and against a copy with the
 * patch taken back out, so it shows both that the defect is real and that the patch removes it.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const REPRO = join(ROOT, 'test/fixtures/postgres-closed-socket.mjs');
const PATCH = join(ROOT, 'patches/postgres+3.4.9.patch');

let db: TestDatabase;
let unpatched: string;

function run(
  command: string,
  args: string[],
  options: { cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 60_000, ...options }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const scenarios = (stdout: string) =>
  stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map(
      (line) =>
        JSON.parse(line) as { scenario: string; afterClose?: string; outcomes?: string[]; one?: number },
    );

beforeAll(async () => {
  db = await createTestDatabase();
  unpatched = mkdtempSync(join(tmpdir(), 'postgres-unpatched-'));
  cpSync(join(ROOT, 'node_modules/postgres'), unpatched, { recursive: true });
  const reverted = await run('patch', ['-R', '-p3', '-d', unpatched, '-i', PATCH]);
  if (reverted.code !== 0)
    throw new Error(`could not take the patch back out:\n${reverted.stdout}${reverted.stderr}`);
});
afterAll(async () => {
  rmSync(unpatched, { recursive: true, force: true });
  await db?.destroy();
});

describe('postgres driver on a connection whose backend went away', () => {
  it('unpatched, a query on the closed connection kills the process from a timer', async () => {
    const result = await run(process.execPath, [REPRO, db.url, unpatched]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("Cannot read properties of null (reading 'write')");
    expect(result.stderr).toMatch(/at Immediate\.nextWrite/);
  });

  it('patched, every such query rejects with CONNECTION_CLOSED, the process lives and the pool serves again', async () => {
    // Three times: the pooled scenario's timing varies, and any run that dies is a failure.
    const results = [];
    for (let run_ = 0; run_ < 3; run_++) {
      results.push(await run(process.execPath, [REPRO, db.url, join(ROOT, 'node_modules/postgres')]));
    }
    for (const result of results) expect(result.code, result.stderr).toBe(0);
    const result = results[0] as (typeof results)[number];
    expect(result.stderr).not.toContain('reading');
    const lines = scenarios(result.stdout);
    expect(lines.find((line) => line.scenario === 'reserved')).toEqual({
      scenario: 'reserved',
      afterClose: 'CONNECTION_CLOSED',
    });
    expect(lines.find((line) => line.scenario === 'transaction')).toEqual({
      scenario: 'transaction',
      afterClose: 'CONNECTION_CLOSED',
    });
    const pooled = lines.find((line) => line.scenario === 'pooled');
    // In-flight queries either finished or failed with a catchable code; none hung. Which one
    // depends on when the backend's end reaches the socket: the driver's CONNECTION_CLOSED, the
    // server's 57P01 (terminating connection), or the socket's ECONNRESET (seen under load).
    for (const outcome of pooled?.outcomes ?? [])
      expect(['ok', 'CONNECTION_CLOSED', '57P01', 'ECONNRESET']).toContain(outcome);
    expect(lines.find((line) => line.scenario === 'recovered')).toEqual({ scenario: 'recovered', one: 1 });
  });
});
