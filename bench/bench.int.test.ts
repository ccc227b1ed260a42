import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface BenchJson {
  comparisons: {
    scenario: string;
    figures: { requests: number; errors: number; serverCpuUs?: number };
    baseline: { requests: number; errors: number };
    ratio: number;
  }[];
  memory: { apiRssMiB: number; workerRssMiB: number };
}

// Keeps `npm run bench` from rotting: the CI-sized run (a second per scenario, its own Postgres,
// Redis and Temporal) completes and measures every scenario and its baseline. It checks that the
// figures exist, not what they are: speed is for the bench itself, on a quiet machine.
it('npm run bench -- --ci measures every scenario next to its baseline', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ci-'));
  try {
    const out = join(dir, 'bench.json');
    await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--ci', '--json', out], {
      cwd: ROOT,
      timeout: 280_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const result = JSON.parse(readFileSync(out, 'utf8')) as BenchJson;
    expect(result.comparisons.map((entry) => entry.scenario)).toEqual([
      'GET /api/v1/products',
      'GET /api/v1/products/1',
      'GET /api/v1/cart',
      'GET /health',
      'POST /api/v1/checkout (2 concurrent)',
      'reserve+release, 16 concurrent, one hot product',
    ]);
    for (const entry of result.comparisons) {
      expect(entry.figures.requests, entry.scenario).toBeGreaterThan(0);
      expect(entry.baseline.requests, entry.scenario).toBeGreaterThan(0);
      expect(entry.figures.errors + entry.baseline.errors, entry.scenario).toBe(0);
      expect(entry.ratio, entry.scenario).toBeGreaterThan(0);
    }
    for (const entry of result.comparisons.filter((entry) => entry.scenario.startsWith('GET')))
      expect(entry.figures.serverCpuUs, entry.scenario).toBeGreaterThan(0);
    expect(result.memory.apiRssMiB).toBeGreaterThan(0);
    expect(result.memory.workerRssMiB).toBeGreaterThan(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
