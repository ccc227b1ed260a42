import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fenceViolations } from './check-fences.js';

let root: string | undefined;
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

/** A throwaway source tree with the given files, checked by the real fence rules. */
function violationsOf(files: Record<string, string>): string[] {
  root = mkdtempSync(join(tmpdir(), 'fences-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return fenceViolations(root);
}

describe('import fences', () => {
  it('refuse a workflow importing an I/O module, by value, on one line or several', () => {
    expect(
      violationsOf({
        'workflows/a.workflow.ts': "import { createLogger } from '../infra/logger.js';\n",
        'workflows/b.workflow.ts': "import {\n  newId,\n  type Id,\n} from '../infra/ids.js';\n",
        'workflows/c.workflow.ts': "import { Redis } from 'ioredis';\n",
      }),
    ).toEqual([
      expect.stringMatching(
        /^workflows\/a\.workflow\.ts: workflows take values only from lib\/ and workflows\/, not infra\//,
      ),
      expect.stringMatching(/^workflows\/b\.workflow\.ts: .* not infra\//),
      expect.stringMatching(/^workflows\/c\.workflow\.ts: workflows take no values from ioredis/),
    ]);
  });

  it('let a workflow import pure lib/ modules, other workflow files, the SDK, and types from anywhere', () => {
    expect(
      violationsOf({
        'workflows/ok.workflow.ts': [
          "import { proxyActivities } from '@temporalio/workflow';",
          "import { formatAmount } from '../lib/checkout.js';",
          "import { helper } from './helper.js';",
          "import type { Logger } from '../infra/logger.js';",
          "import type * as activities from '../activities/cart.activities.js';",
          '',
        ].join('\n'),
      }),
    ).toEqual([]);
  });

  it('keep lib/ pure and services/ free of HTTP and Temporal', () => {
    expect(
      violationsOf({
        'lib/pure.ts': "import { v5 } from 'uuid';\nimport { x } from './money.js';\n",
        'lib/impure.ts': "import { readFileSync } from 'node:fs';\nimport { db } from '../db/client.js';\n",
        'services/s.service.ts':
          "import { Hono } from 'hono';\nimport type { Client } from '@temporalio/client';\n",
        'workers/w.ts': "import { createHttpMetrics } from '../api/metrics.js';\n",
      }),
    ).toEqual([
      expect.stringMatching(/^lib\/impure\.ts: lib\/ is pure: no values from node:fs/),
      expect.stringMatching(/^lib\/impure\.ts: lib\/ is pure: nothing from db\//),
      expect.stringMatching(/^services\/s\.service\.ts: services know nothing of HTTP or Temporal: hono/),
      expect.stringMatching(
        /^services\/s\.service\.ts: services know nothing of HTTP or Temporal: @temporalio\/client/,
      ),
      expect.stringMatching(/^workers\/w\.ts: workers\/ does not import api\//),
    ]);
  });
});
