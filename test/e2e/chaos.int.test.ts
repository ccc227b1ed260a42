import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { findRedisServer } from '../../scripts/provision/redis.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// Without redis-server, npm start runs without Redis and the run has no Redis faults.
const redisInstalled = (await findRedisServer()) !== undefined;

/**
 * The CI-sized chaos run (scripts/chaos/run.ts, profile `ci`): about a minute and a half of
 * shoppers against `npm start` while the worker, Redis, Postgres, Temporal and the API are each
 * killed once, then the invariant checker over Postgres, the provider's books and Temporal. A
 * regression that breaks a guarantee under faults fails here, with the violations printed.
 */
it(
  'survives every kind of fault with zero invariant violations (chaos, CI size)',
  async () => {
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        ['--import', 'tsx', 'scripts/chaos/run.ts', '--profile', 'ci'],
        // The run bounds itself (exit 3 past its budget); this is the last resort.
        { cwd: ROOT, timeout: 7 * 60_000, killSignal: 'SIGTERM', maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) =>
          resolve({ code: error ? (child.exitCode ?? 1) : 0, output: `${stdout}\n${stderr}` }),
      );
    });
    const summary = output.slice(output.indexOf('checkouts:'));
    expect(code, output.slice(-12_000)).toBe(0);
    expect(summary).toMatch(/^violations: 0$/m);
    expect(summary).toContain('CHAOS OK');
    for (const kind of ['worker', ...(redisInstalled ? ['redis'] : []), 'postgres', 'temporal', 'api']) {
      expect(summary).toMatch(new RegExp(`^  ${kind} +[1-9]\\d*x`, 'm'));
    }
  },
  8 * 60_000,
);
