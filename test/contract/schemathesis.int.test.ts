import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { findOrInstallSchemathesis, type SchemathesisTools } from '../../scripts/provision/schemathesis.js';
import { adminToken, TEST_WEBHOOK_SECRET, userToken } from '../support/app.js';
import { type CheckoutStack, checkoutBody, type Shopper, startCheckoutStack } from '../support/checkout.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { connectTestRedis, userIdSource } from '../support/redis.js';
import { createTemporalTestContext, type TemporalTestContext } from '../support/temporal.js';

/**
 * The OpenAPI document against the running API over HTTP: schemathesis generates requests from
 * the document, valid and invalid ones, and checks every answer with all of its checks (a valid
 * request refused, an invalid one accepted, an undocumented status, header or body, a 5xx,
 * ignored authentication, one shopper reading another's objects...). The API runs with real
 * Postgres, Redis and the checkout and order workflows on the Temporal test server.
 *
 * Bounded here (CONTRACT_MAX_EXAMPLES per operation, default 10); `npm run test:contract` runs
 * it at full size. CONTRACT_SEED replays a run; CONTRACT_REPORT_DIR keeps a HAR and a JUnit report.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..', '..');
const MAX_EXAMPLES = Number(process.env.CONTRACT_MAX_EXAMPLES ?? 10);
const SEED = process.env.CONTRACT_SEED;
/** Where to keep a HAR of every request and answer, and a JUnit report, for a closer look. */
const REPORT_DIR = process.env.CONTRACT_REPORT_DIR;
// A run takes under a second per example (all 25 operations together); this leaves ample room.
const RUN_TIMEOUT_MS = Math.max(240_000, MAX_EXAMPLES * 3_000);

let db: TestDatabase;
let redis: Redis | undefined;
let temporal: TemporalTestContext;
let stack: CheckoutStack;
let server: ReturnType<typeof serve> | undefined;
let baseUrl: string;
let tools: SchemathesisTools;
const workDir = mkdtempSync(join(tmpdir(), 'contract-'));
const nextUser = userIdSource();

beforeAll(async () => {
  const provisioned = findOrInstallSchemathesis({
    venvDir: join(REPO, '.data', 'tools', 'schemathesis-venv'),
    log: (message) => console.log(`[contract] ${message}`),
  }).catch((error: unknown) => {
    throw new Error(`schemathesis could not be provisioned: ${(error as Error).message}`, { cause: error });
  });
  [db, temporal, tools] = await Promise.all([createTestDatabase(), createTemporalTestContext(), provisioned]);
  redis = connectTestRedis();
  // A short wait: a 3-D Secure checkout answers 202 soon rather than after the default 30 s.
  stack = await startCheckoutStack({ db, redis, temporal, waitMs: 2_000 });
  server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve({ fetch: stack.app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(started));
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 600_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await stack?.stop();
  redis?.disconnect();
  await Promise.allSettled([db?.destroy(), temporal?.close()]);
  rmSync(workDir, { recursive: true, force: true });
});

interface Seed {
  tokens: Record<'alice' | 'bob' | 'admin', string>;
  orders: string[];
  shipments: string[];
  checkouts: string[];
}

/**
 * Two shoppers and an admin, and objects for them to meet (their ids are offered to schemathesis
 * alongside the ones it makes up): alice has a completed order, a checkout awaiting 3-D Secure
 * and a cart; bob has the order the admin ships and delivers, out of reach of alice's cancels.
 */
async function seed(): Promise<Seed> {
  const [alice, bob] = [await stack.shopper(nextUser()), await stack.shopper(nextUser())];
  const { product } = await stack.services.catalog.create({
    name: 'Contract item',
    priceCents: 1250,
    stock: 1000,
  });
  const order = async (shopper: Shopper, key: string) => {
    await shopper.add(product.id, 1);
    const placed = await checkoutBody(await shopper.checkout({}, { 'Idempotency-Key': key }));
    expect(placed.status).toBe('COMPLETED');
    return placed;
  };
  const placed = await order(alice, 'contract-order');
  const shipment = await order(bob, 'contract-shipment');
  await alice.add(product.id, 2);
  const pending = await checkoutBody(
    await alice.checkout(
      { payment_token: 'tok_threeDSecure' },
      { 'Idempotency-Key': 'contract-3ds', Prefer: 'respond-async' },
    ),
  );
  expect(pending.status).not.toBe('FAILED');
  await alice.add(product.id, 3);
  return {
    tokens: {
      alice: await userToken(alice.userId),
      bob: await userToken(bob.userId),
      admin: await adminToken(nextUser()),
    },
    orders: [placed.order_id as string],
    shipments: [shipment.order_id as string],
    checkouts: [placed.checkout_id, pending.checkout_id],
  };
}

/** The committed settings plus this run's identities and known ids. */
function writeConfig({ tokens, orders, shipments, checkouts }: Seed): string {
  const authFile = join(workDir, 'auth.json');
  writeFileSync(
    authFile,
    JSON.stringify({
      auth: Object.entries(tokens).map(([name, token]) => ({
        name,
        fixedHeaders: [{ name: 'Authorization', value: `Bearer ${token}` }],
      })),
    }),
  );
  const configFile = join(workDir, 'schemathesis.toml');
  writeFileSync(
    configFile,
    [
      readFileSync(join(HERE, 'schemathesis.toml'), 'utf8'),
      '# Added by the test for this run.',
      '[auth.wfc]',
      `path = ${JSON.stringify(authFile)}`,
      'peers = ["alice", "bob"]',
      '[dictionaries.orders]',
      `values = ${JSON.stringify(orders)}`,
      '[dictionaries.shipments]',
      `values = ${JSON.stringify(shipments)}`,
      '[dictionaries.checkouts]',
      `values = ${JSON.stringify(checkouts)}`,
      '',
    ].join('\n'),
  );
  return configFile;
}

function run(
  executable: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      executable,
      args,
      { env: { ...process.env, ...env }, cwd: workDir, timeout: RUN_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

it('serves a document that validates as OpenAPI 3.1', async () => {
  const document = await (await fetch(`${baseUrl}/openapi.json`)).json();
  expect(document).toMatchObject({ openapi: '3.1.0' });
  const file = join(workDir, 'openapi.json');
  writeFileSync(file, JSON.stringify(document));
  const { code, output } = await run(tools.specValidator, [
    '--schema',
    '3.1',
    '--validation-errors',
    'all',
    file,
  ]);
  expect(code, output).toBe(0);
  expect(output).toContain('OK');
});

it(
  'finds no request the document allows that the API refuses, and no answer it does not document',
  async () => {
    const configFile = writeConfig(await seed());
    const started = Date.now();
    const { code, output } = await run(
      tools.schemathesis,
      [
        '--config-file',
        configFile,
        'run',
        `${baseUrl}/openapi.json`,
        '--checks',
        'all',
        '--max-examples',
        String(MAX_EXAMPLES),
        // One worker: schemathesis' threads trip a CPython 3.11 bug in ast.parse (gh-106905).
        '--workers',
        '1',
        '--no-color',
        '--output-truncate',
        'false',
        // Test tokens and ids only: show them, so a failure reproduces as printed.
        '--output-sanitize',
        'false',
        ...(SEED ? ['--seed', SEED] : []),
        ...(REPORT_DIR ? ['--report', 'har,junit', '--report-dir', REPORT_DIR] : []),
      ],
      { CONTRACT_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET, SCHEMATHESIS_HOOKS: join(HERE, 'hooks.py') },
    );
    // Warnings (operations that could not be reached) and the summary, also when all passed.
    const tail = ['== WARNINGS ==', '== SUMMARY ==']
      .map((title) => output.lastIndexOf(title))
      .find((at) => at >= 0);
    // Every line prefixed: schemathesis closes with a pytest-style line (`== 1 warning in 15.84s ==`)
    // that a log reader would otherwise take for the whole run's result.
    const summary = output
      .slice(Math.max(0, (tail ?? 0) - 40))
      .trimEnd()
      .split('\n')
      .map((line) => `[contract] ${line}`)
      .join('\n');
    console.log(`[contract] schemathesis finished in ${Date.now() - started} ms (exit ${code})\n${summary}`);
    expect(code, `schemathesis reported failures:\n${output}`).toBe(0);
  },
  RUN_TIMEOUT_MS + 30_000,
);
