import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import postgres from 'postgres';
import { seededRandom } from '../../test/support/random.js';
import { runAdmin } from './admin.js';
import { findViolations, outcomes } from './invariants.js';
import { FAULT_KINDS, type FaultKind, newJournal } from './journal.js';
import { readLedger } from './ledger.js';
import { type Platform, startPlatform } from './platform.js';
import { markdown, printable, type RunFigures } from './report.js';
import { type OrderBook, runShopper } from './shopper.js';

/**
 * `npm run chaos`: many simulated shoppers against `npm start` while faults are injected on a
 * schedule, then an invariant check of what Postgres, the payment provider's books and Temporal
 * recorded against what the shoppers were told. Bounded: it stops by itself, also when the
 * platform hangs, and exits non-zero on any violation or shortfall.
 */

interface Profile {
  trafficMs: number;
  shoppers: number;
  firstFaultMs: number;
  faultEveryMs: number;
  report: string;
  minCheckouts: number;
  minFaultsPerKind: number;
  /** Past traffic plus this, the run is abandoned: platform stopped, exit 3. */
  overrunMs: number;
}

const PROFILES: Record<string, Profile> = {
  full: {
    trafficMs: 7 * 60_000,
    shoppers: 14,
    firstFaultMs: 15_000,
    faultEveryMs: 25_000,
    report: 'docs/chaos.md',
    minCheckouts: 500,
    minFaultsPerKind: 2,
    overrunMs: 9 * 60_000,
  },
  ci: {
    trafficMs: 75_000,
    shoppers: 8,
    firstFaultMs: 6_000,
    faultEveryMs: 13_000,
    report: 'none',
    minCheckouts: 40,
    minFaultsPerKind: 1,
    overrunMs: 4 * 60_000,
  },
};

/** How long each backing server is kept away (its port held) before npm start may bring it back. */
const DOWN_MS: Record<FaultKind, number> = {
  worker: 0,
  api: 0,
  redis: 4_000,
  postgres: 3_000,
  temporal: 3_000,
};
const RESERVATION_TTL_MS = 20_000;

const { values } = parseArgs({
  options: {
    profile: { type: 'string', default: 'full' },
    minutes: { type: 'string' },
    shoppers: { type: 'string' },
    seed: { type: 'string' },
    report: { type: 'string' },
    json: { type: 'string' },
    'min-checkouts': { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const base = PROFILES[values.profile ?? 'full'];
if (!base) {
  console.error(`--profile must be one of ${Object.keys(PROFILES).join(', ')}`);
  process.exit(2);
}
const profile: Profile = {
  ...base,
  ...(values.minutes ? { trafficMs: Number(values.minutes) * 60_000 } : {}),
  ...(values.shoppers ? { shoppers: Number(values.shoppers) } : {}),
  ...(values.report ? { report: values.report } : {}),
  ...(values['min-checkouts'] ? { minCheckouts: Number(values['min-checkouts']) } : {}),
};
const seed = values.seed ? Number(values.seed) : Math.floor(Math.random() * 1_000_000);
const environment = {
  RATE_LIMIT_RPS: '0',
  RESERVATION_TTL: `${RESERVATION_TTL_MS / 1000}s`,
  RESERVATION_SWEEP_GRACE: '5s',
  CHECKOUT_WAIT_MS: '10000',
};
const BUDGET_MS = profile.trafficMs + profile.overrunMs;

const startedAt = Date.now();
const log = (line: string) =>
  console.log(`[chaos ${((Date.now() - startedAt) / 1000).toFixed(0).padStart(4)}s] ${line}`);

let platform: Platform | undefined;
let stopping = false;
async function abandon(why: string, code: number): Promise<never> {
  log(why);
  const stopped = platform?.stop().catch(() => {});
  await Promise.race([stopped, sleep(20_000)]);
  process.exit(code);
}
const budget = setTimeout(
  () => void abandon(`time budget of ${BUDGET_MS / 60_000} min exceeded: giving up`, 3),
  BUDGET_MS,
);
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => void abandon(`${signal}: stopping`, 130));

async function main(): Promise<number> {
  log(
    `profile ${values.profile}: ${profile.shoppers} shoppers, ${profile.trafficMs / 1000} s of traffic, a fault every ${profile.faultEveryMs / 1000} s, seed ${seed}`,
  );
  platform = await startPlatform(environment, log);
  const { api } = platform;
  const random = seededRandom(seed);
  const journal = newJournal();
  const admin = await platform.token(1, true);

  // The shop: scarce products (restocked when they run low), a limited edition that sells out
  // for good (its later checkouts fail insufficient_stock), plentiful ones, one withdrawn half
  // way through, and the seed catalog.
  const create = async (name: string, priceCents: number, stock: number) => {
    const answer = await api.post('/api/v1/products', {
      token: admin,
      json: { name: `Chaos ${name}`, description: 'chaos run', price_cents: priceCents, stock },
    });
    if (answer.status !== 201) throw new Error(`could not create ${name}: ${answer.text}`);
    return answer.body.id as number;
  };
  const scarce = [
    await create('Lamp', 1500, 30),
    await create('Vase', 2750, 45),
    await create('Clock', 3999, 60),
  ];
  const limited = await create('Limited Edition', 12_500, 20);
  const plentiful = [await create('Pen', 199, 5_000), await create('Notebook', 450, 5_000)];
  const discontinued = await create('Fad', 999, 500);
  const catalog = [
    ...scarce.map((id) => ({ id, weight: 10 })),
    { id: limited, weight: 4 },
    ...plentiful.map((id) => ({ id, weight: 12 })),
    { id: discontinued, weight: 6 },
    ...[1, 2, 3, 4, 5].map((id) => ({ id, weight: 3 })),
  ];

  const sql = postgres(platform.banner.databaseUrl, { max: 2, onnotice: () => {} });
  try {
    const [clock] = await sql<{ ms: number }[]>`select (extract(epoch from now()) * 1000)::float8 as ms`;
    const stock = await sql<{ productId: number; onHand: number; reserved: number }[]>`
      select product_id::int as "productId", on_hand as "onHand", reserved from inventory`;
    journal.stock = {
      takenAt: new Date(clock?.ms ?? Date.now()).toISOString(),
      onHand: Object.fromEntries(stock.map((row) => [row.productId, row.onHand])),
    };
    if (stock.some((row) => row.reserved !== 0)) throw new Error('stock is reserved before the run started');
  } finally {
    await sql.end();
  }

  const orders: OrderBook = { confirmed: [], shipped: [] };
  const progress = { sessions: 0 };
  const trafficStart = Date.now();
  const trafficEnd = trafficStart + profile.trafficMs;
  const shoppers = Array.from({ length: profile.shoppers }, (_, index) =>
    runShopper(
      index,
      {
        platform: platform as Platform,
        journal,
        random,
        catalog,
        orders,
        stopping: () => stopping,
        reservationTtlMs: RESERVATION_TTL_MS,
        log,
      },
      progress,
    ),
  );
  const staff = runAdmin({
    platform,
    journal,
    random,
    orders,
    restockable: scarce,
    discontinued,
    discontinueAt: trafficStart + profile.trafficMs / 2,
    stopping: () => stopping,
  });
  const ticker = setInterval(() => {
    const answered = journal.entries.filter((e) => e.kind === 'checkout' && !e.repeat).length;
    log(`${progress.sessions} sessions, ${answered} checkout requests, ${journal.faults.length} faults`);
  }, 15_000);

  // Without redis-server npm start runs without Redis (a supported mode): nothing to kill there.
  const kinds = platform.banner.redisUrl ? FAULT_KINDS : FAULT_KINDS.filter((kind) => kind !== 'redis');
  if (kinds.length < FAULT_KINDS.length) log('redis-server is not installed: no Redis faults in this run');
  const faults = (async () => {
    await sleep(profile.firstFaultMs);
    for (let i = 0; Date.now() < trafficEnd - 5_000; i++) {
      const kind = kinds[i % kinds.length] as FaultKind;
      const fault = await (platform as Platform).inject(kind, DOWN_MS[kind]);
      journal.faults.push(fault);
      log(
        `fault ${kind}: pid ${fault.oldPid} -> ${fault.newPid}, ready again after ${fault.recoveredMs === undefined ? 'never' : `${(fault.recoveredMs / 1000).toFixed(1)} s`}`,
      );
      const next = trafficStart + profile.firstFaultMs + (i + 1) * profile.faultEveryMs;
      await sleep(Math.max(0, next - Date.now()));
    }
  })();

  await sleep(Math.max(0, trafficEnd - Date.now()));
  stopping = true;
  log('traffic over: letting sessions finish');
  await faults;
  const drained = await Promise.race([
    Promise.all([...shoppers, staff]).then(() => true),
    sleep(RESERVATION_TTL_MS + 240_000).then(() => false),
  ]);
  clearInterval(ticker);
  if (!drained) log('some sessions did not finish in time; checking anyway');
  const trafficMs = Date.now() - trafficStart;

  const settleStart = Date.now();
  const settled = await settle(platform);
  log(settled ? 'every checkout and order move has ended' : 'not everything ended in time; checking anyway');
  const settleMs = Date.now() - settleStart;

  const checkStart = Date.now();
  const db = postgres(platform.banner.databaseUrl, { max: 2, onnotice: () => {} });
  let figures: RunFigures;
  try {
    const ledger = await readLedger(db, platform.banner.temporalAddress);
    const violations = findViolations(ledger, journal);
    const answers: Record<string, number> = {};
    for (const entry of journal.entries) {
      if (entry.kind !== 'checkout') continue;
      const label = `${entry.status}${entry.code ? ` ${entry.code}` : ''}`;
      answers[label] = (answers[label] ?? 0) + 1;
    }
    const byStatus: Record<string, number> = {};
    for (const order of ledger.orders) byStatus[order.status] = (byStatus[order.status] ?? 0) + 1;
    const inFlightAtFault: Record<string, number> = {};
    for (const fault of journal.faults) {
      const hit = ledger.checkouts.filter((c) => c.createdAt <= fault.at && fault.at <= c.updatedAt).length;
      inFlightAtFault[fault.kind] = (inFlightAtFault[fault.kind] ?? 0) + hit;
    }
    const shortfalls: string[] = [];
    if (ledger.checkouts.length < profile.minCheckouts) {
      shortfalls.push(
        `${ledger.checkouts.length} checkouts, fewer than the ${profile.minCheckouts} required`,
      );
    }
    for (const kind of kinds) {
      const count = journal.faults.filter((fault) => fault.kind === kind).length;
      if (count < profile.minFaultsPerKind)
        shortfalls.push(`fault ${kind} injected ${count}x, fewer than ${profile.minFaultsPerKind}`);
    }
    for (const fault of journal.faults) {
      if (fault.recoveredMs === undefined)
        shortfalls.push(
          `the platform did not recover from the ${fault.kind} fault at ${new Date(fault.at).toISOString()}`,
        );
    }
    figures = {
      command: `npm run chaos${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
      profile: values.profile ?? 'full',
      seed,
      shoppers: profile.shoppers,
      trafficMs,
      totalMs: 0,
      settleMs,
      checkMs: Date.now() - checkStart,
      environment,
      machine: `${availableParallelism()} cores, load average ${loadavg()[0]?.toFixed(1)} when the check ran`,
      outcomes: outcomes(ledger),
      answers,
      sessions: progress.sessions,
      orders: { total: ledger.orders.length, byStatus },
      inFlightAtFault,
      evidence: {
        checkouts: ledger.checkouts.length,
        'reservation rows': ledger.reservations.length,
        payments: ledger.payments.length,
        'provider requests': ledger.bank.length,
        orders: ledger.orders.length,
        'stock movements': ledger.movements.length,
        'workflows described': ledger.workflows.size,
        'answers journaled': journal.entries.length,
      },
      journal,
      violations,
      minimums: { checkouts: profile.minCheckouts, faultsPerKind: profile.minFaultsPerKind },
      shortfalls,
    };
  } finally {
    await db.end();
  }

  if (values.keep)
    log(`platform kept running: ${platform.npmStart.baseUrl} (data in ${platform.npmStart.dataDir})`);
  else await platform.stop();
  figures.totalMs = Date.now() - startedAt;
  console.log(printable(figures));
  if (profile.report !== 'none') {
    writeFileSync(profile.report, markdown(figures));
    log(`report written to ${profile.report}`);
  }
  if (values.json) writeFileSync(values.json, JSON.stringify({ ...figures, journal }, null, 2));
  const ok = figures.violations.length === 0 && figures.shortfalls.length === 0;
  console.log(
    ok
      ? 'CHAOS OK: zero violations'
      : `CHAOS FAILED: ${figures.violations.length} violation(s), ${figures.shortfalls.length} shortfall(s)`,
  );
  return ok ? 0 : 1;
}

/**
 * Waits until nothing is left in flight: no active checkout in Postgres, no running saga in
 * Temporal, no cancelled order still waiting for its refund or restock to be recorded.
 */
async function settle(p: Platform): Promise<boolean> {
  const giveUpAt = Date.now() + RESERVATION_TTL_MS + 180_000;
  const sql = postgres(p.banner.databaseUrl, { max: 1, onnotice: () => {} });
  const connection = await Connection.connect({ address: p.banner.temporalAddress });
  try {
    const client = new Client({ connection });
    while (Date.now() < giveUpAt) {
      const [pending] = await sql<{ checkouts: number; orders: number }[]>`
        select (select count(*)::int from checkouts where status not in ('COMPLETED', 'FAILED', 'CANCELLED')) as checkouts,
               (select count(*)::int from orders o join payments p on p.checkout_id = o.checkout_id
                 where o.status = 'CANCELLED' and p.status <> 'REFUNDED' and p.captured_cents > 0) as orders`;
      let running = 0;
      for await (const _ of client.workflow.list({
        query: `WorkflowType='checkoutWorkflow' AND ExecutionStatus='Running'`,
      }))
        running++;
      if (pending?.checkouts === 0 && pending.orders === 0 && running === 0) {
        // Order lifecycles record their last step just after the refund; give them a moment.
        await sleep(3_000);
        return true;
      }
      await sleep(2_000);
    }
    return false;
  } finally {
    await sql.end();
    await connection.close();
  }
}

main()
  .then((code) => {
    clearTimeout(budget);
    process.exit(code);
  })
  .catch((error: unknown) =>
    abandon(
      `chaos run failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      1,
    ),
  );
