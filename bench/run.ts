import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { createDatabase } from '../db/client.js';
import { runMigrations } from '../db/migrate.js';
import { seedDatabase } from '../db/seed.js';
import { loadConfig } from '../infra/config.js';
import { newId } from '../infra/ids.js';
import { signToken } from '../infra/jwt.js';
import { systemClock } from '../lib/clock.js';
import { startEmbeddedPostgres } from '../scripts/provision/postgres.js';
import { freePort } from '../scripts/provision/process.js';
import { startLocalRedis } from '../scripts/provision/redis.js';
import { findOrInstallTemporalCli, startTemporalDevServer } from '../scripts/provision/temporal.js';
import { createInventoryService, type InventoryService } from '../services/inventory/inventory.service.js';
import { closedLoop, type Figures, since } from './figures.js';

/**
 * `npm run bench`: every figure next to a baseline measured in the same run, on the same machine,
 * as a ratio. The platform runs as `npm start` runs it (the API and the worker in their own
 * processes, over real Postgres, Redis and the Temporal dev server); the load generator is a
 * process of its own. Baselines: a bare Hono app answering the same bytes (reads), a no-op
 * workflow of the same shape on the same Temporal server (checkout), uncontended products (hot
 * product reservations).
 *
 *   npm run bench                      5 s per scenario, 32 connections, 8 concurrent checkouts
 *   npm run bench -- --seconds 10      longer runs
 *   npm run bench -- --ci              a seconds-long run that only checks the bench still works
 *   --json <file>                      also write the figures as JSON
 *   --only <scenario>                  catalog, product, cart, health (or reads: all four), checkout,
 *                                      reservations; repeatable, or several joined by commas
 *   --profile <dir>                    write V8 CPU profiles of the API and the worker to <dir>/api, <dir>/worker
 *                                      (open them in Chrome DevTools; docs/performance.md)
 *   --perf-map                         start the API, the worker and the read baseline with
 *                                      --perf-basic-prof, so that Linux `perf record -p <pid>` names
 *                                      their JavaScript functions (on-CPU time, the kernel's
 *                                      included; docs/performance.md)
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const exec = promisify(execFile);
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
    'checkout-concurrency': { type: 'string', default: '8' },
    ci: { type: 'boolean', default: false },
    json: { type: 'string' },
    only: { type: 'string', multiple: true },
    profile: { type: 'string' },
    'perf-map': { type: 'boolean', default: false },
  },
});
const READS = ['catalog', 'product', 'cart', 'health'];
const SCENARIOS = [...READS, 'checkout', 'reservations'];
const scenarios = new Set(
  (values.only ?? ['reads', 'checkout', 'reservations'])
    .flatMap((name) => name.split(','))
    .flatMap((name) => (name === 'reads' ? READS : [name])),
);
const unknown = [...scenarios].filter((name) => !SCENARIOS.includes(name));
if (unknown.length > 0) {
  console.error(`bench: no scenario ${unknown.join(', ')}; choose from reads, ${SCENARIOS.join(', ')}`);
  process.exit(2);
}
const seconds = values.ci ? 1 : Number(values.seconds);
const connections = values.ci ? 4 : Number(values.connections);
const checkoutConcurrency = values.ci ? 2 : Number(values['checkout-concurrency']);

interface Comparison {
  scenario: string;
  figures: Figures;
  baseline: Figures;
  /** Throughput as a share of the baseline's. */
  ratio: number;
  target?: { ratio?: number; p50Ratio?: number };
}

const comparisons: Comparison[] = [];
const children: ChildProcess[] = [];
const log = (message: string) => console.error(`[bench] ${message}`);

/** How much of a process's output the bench keeps (for its error messages); access logs are read and dropped. */
const OUTPUT_TAIL = 64 * 1024;

/**
 * A long-running process of the run; stopped at the end, killed if the bench dies. With `logFile`
 * its stdout (the access log) goes to that file, as to a log collector, rather than through a
 * pipe this process would have to keep up with.
 */
function launch(
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { nodeArgs?: string[]; logFile?: string } = {},
): { child: ChildProcess; output: () => string; line: Promise<string> } {
  const stdout = options.logFile ? openSync(options.logFile, 'a') : 'pipe';
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', stdout, 'pipe'],
  });
  if (typeof stdout === 'number') closeSync(stdout);
  children.push(child);
  let output = '';
  const tail = () => {
    if (!options.logFile) return output;
    const log = readFileSync(options.logFile, 'utf8');
    return `${log.slice(-OUTPUT_TAIL)}${output}`;
  };
  let found = false;
  const line = new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-OUTPUT_TAIL);
      if (found) return;
      const first = output.split('\n').find((text) => text.trim().startsWith('{') || text.trim() === 'ready');
      if (first) {
        found = true;
        resolve(first.trim());
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-OUTPUT_TAIL);
    });
    child.once('exit', (code) => reject(new Error(`${args[0]} exited (${code}):\n${tail().slice(-3000)}`)));
  });
  line.catch(() => {});
  return { child, output: tail, line };
}

/** One scenario of the load generator, in its own process. */
async function loadRun(args: string[]): Promise<Figures> {
  const { stdout } = await exec(process.execPath, ['--import', 'tsx', 'bench/load.ts', ...args], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
    timeout: (seconds + 120) * 1000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Figures;
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (clock ticks of 10 ms). */
const cpuSecondsOf = (pid: number | undefined): number => {
  if (pid === undefined) return Number.NaN;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
};

/** A load run against a server process, with that process's CPU per answered request. */
async function measuredRun(pid: number | undefined, args: string[]): Promise<Figures> {
  const before = cpuSecondsOf(pid);
  const figures = await loadRun(args);
  const spent = cpuSecondsOf(pid) - before;
  return { ...figures, serverCpuUs: (spent * 1e6) / Math.max(1, figures.requests) };
}

/**
 * Two load runs of one side as one: totals add up, and the per-request figures (latency
 * percentiles, server CPU) are averaged weighted by requests. For the CPU that is exact; for the
 * percentiles it is the close estimate that two runs' summaries allow.
 */
function combined(first: Figures, second: Figures): Figures {
  const requests = first.requests + second.requests;
  const seconds = first.seconds + second.seconds;
  const weighted = (value: (figures: Figures) => number | undefined) =>
    ((value(first) ?? 0) * first.requests + (value(second) ?? 0) * second.requests) / Math.max(1, requests);
  return {
    requests,
    seconds,
    rps: requests / seconds,
    p50: weighted((figures) => figures.p50),
    p99: weighted((figures) => figures.p99),
    errors: first.errors + second.errors,
    ...(first.serverCpuUs === undefined ? {} : { serverCpuUs: weighted((figures) => figures.serverCpuUs) }),
  };
}

/** One side of a comparison: a run that is not measured, and a measured one of half the seconds. */
interface Side {
  warmUp(): Promise<unknown>;
  run(): Promise<Figures>;
}

/**
 * Both sides warmed up (not measured: their processes are new, and their code is not yet
 * optimised), then run twice, in the order baseline, platform, platform, baseline: a machine that
 * speeds up or slows down during the scenario then weighs on both sides alike. Each side's two
 * runs are added up.
 */
async function sideBySide(baseline: Side, platform: Side): Promise<{ baseline: Figures; platform: Figures }> {
  await baseline.warmUp();
  await platform.warmUp();
  const baseFirst = await baseline.run();
  const platformFirst = await platform.run();
  const platformSecond = await platform.run();
  const baseSecond = await baseline.run();
  return { baseline: combined(baseFirst, baseSecond), platform: combined(platformFirst, platformSecond) };
}

const rssOf = (pid: number | undefined): number => {
  if (pid === undefined) return Number.NaN;
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
};

function compare(scenario: string, figures: Figures, baseline: Figures, target?: Comparison['target']): void {
  const entry = {
    scenario,
    figures,
    baseline,
    ratio: figures.rps / baseline.rps,
    ...(target ? { target } : {}),
  };
  comparisons.push(entry);
  log(
    `${scenario}: ${figures.rps.toFixed(0)}/s vs ${baseline.rps.toFixed(0)}/s = ${entry.ratio.toFixed(2)}x; p50 ${figures.p50.toFixed(1)} vs ${baseline.p50.toFixed(1)} ms; errors ${figures.errors}${figures.serverCpuUs === undefined ? '' : `; server CPU ${figures.serverCpuUs.toFixed(0)} vs ${baseline.serverCpuUs?.toFixed(0)} us/request`}`,
  );
}

/** One reservation cycle of a checkout (reserve, then release) on these products, timed. */
async function reservationCycle(inventory: InventoryService, productIds: number[]): Promise<number> {
  const checkoutId = newId();
  const t0 = performance.now();
  await inventory.reserve(
    checkoutId,
    productIds.map((productId) => ({ productId, quantity: 1 })),
    60_000,
  );
  await inventory.release(checkoutId);
  return since(t0);
}

async function main(): Promise<void> {
  const config = loadConfig();
  const runDir = mkdtempSync(join(tmpdir(), 'commerce-bench-'));
  chmodSync(runDir, 0o755);
  const quiet = () => {};
  log(
    `seconds per scenario ${seconds}, ${connections} connections, ${checkoutConcurrency} concurrent checkouts`,
  );
  const [pg, redis, temporal] = await Promise.all([
    startEmbeddedPostgres({ dataDir: join(runDir, 'pg'), runDir, database: 'bench', log: quiet }),
    startLocalRedis({ runDir, log: quiet }),
    (async () =>
      startTemporalDevServer({
        cliPath: await findOrInstallTemporalCli({ cliPath: config.temporal.cliPath, log: quiet }),
        runDir,
        uiPort: false,
        log: quiet,
      }))(),
  ]);
  const database = createDatabase(pg.url, { max: 20, applicationName: 'commerce-bench' });
  try {
    await runMigrations(pg.url);
    await seedDatabase(database.db);
    // Enough stock that every checkout of the run succeeds.
    await database.db.execute(sql`update inventory set on_hand = 10000000`);

    const jwtSecret = randomBytes(32).toString('base64url');
    const httpPort = await freePort();
    const apiUrl = `http://127.0.0.1:${httpPort}`;
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_ENV: 'production',
      DATABASE_URL: pg.url,
      REDIS_URL: redis?.url ?? '',
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE_PREFIX: 'bench',
      HTTP_PORT: String(httpPort),
      HTTP_HOST: '127.0.0.1',
      JWT_SECRET: jwtSecret,
      PAYMENT_WEBHOOK_SECRET: randomBytes(32).toString('base64url'),
      // Off, as API.md has it for benchmarks: one client at thousands of requests a second.
      RATE_LIMIT_RPS: '0',
      // An access log line per request, as in production.
      LOG_LEVEL: 'info',
      WORKER_METRICS_PORT: '0',
      CHECKOUT_WAIT_MS: '30000',
      REQUEST_TIMEOUT: '60s',
    };
    const profileDir = values.profile;
    const perfMap = values['perf-map'] ? ['--perf-basic-prof'] : [];
    const profiling = (name: string) => [
      ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, name)}`] : []),
      ...perfMap,
    ];
    const api = launch(['api/server.ts'], env, {
      nodeArgs: profiling('api'),
      logFile: join(runDir, 'api.log'),
    });
    const worker = launch(['workers/main.ts'], env, {
      nodeArgs: profiling('worker'),
      logFile: join(runDir, 'worker.log'),
    });
    const noopWorker = launch(['bench/noop-worker.ts', temporal.address, 'bench-noop'], env);
    await waitFor('the API', async () => (await fetch(`${apiUrl}/health`)).ok);
    await Promise.race([
      noopWorker.line,
      waitFor('the no-op worker', async () => noopWorker.output().includes('ready')),
    ]);
    await waitFor(
      'the worker',
      async () => worker.output().length > 0 || (await fetch(`${apiUrl}/ready`)).ok,
      60_000,
    );

    const tokens = await Promise.all(
      Array.from({ length: Math.max(checkoutConcurrency, 1) + 1 }, (_, i) =>
        signToken(jwtSecret, { userId: 1000 + i }),
      ),
    );
    // Reads: the platform against a bare Hono app answering the very same bytes.
    if (READS.some((name) => scenarios.has(name))) {
      const reader = { Authorization: `Bearer ${tokens[0]}` };
      for (const productId of [1, 2, 3, 4, 5]) {
        await fetch(`${apiUrl}/api/v1/cart/items`, {
          method: 'POST',
          headers: { ...reader, 'Content-Type': 'application/json' },
          body: JSON.stringify({ product_id: productId, quantity: 2 }),
        });
      }
      const routes = {
        '/catalog': ['/api/v1/products', {}],
        '/product': ['/api/v1/products/1', {}],
        '/cart': ['/api/v1/cart', reader],
        '/health': ['/health', {}],
      } as const;
      const payloads: Record<string, string> = {};
      for (const [path, [route, headers]] of Object.entries(routes)) {
        payloads[path] = await (await fetch(`${apiUrl}${route}`, { headers })).text();
      }
      const baselineServer = launch(['bench/baseline-server.ts', JSON.stringify(payloads)], env, {
        nodeArgs: perfMap,
      });
      const { port: baselinePort } = JSON.parse(await baselineServer.line) as { port: number };
      const targets = { '/catalog': 0.4, '/product': 0.4, '/cart': 0.3, '/health': 0.6 } as const;
      // A second of warm-up each (sideBySide), then runs of half the seconds (autocannon counts
      // whole seconds).
      const half = String(Math.max(1, Math.round(seconds / 2)));
      for (const [path, [route, headers]] of Object.entries(routes)) {
        if (!scenarios.has(path.slice(1))) continue;
        const baselineArgs = (run: string) => [
          'http',
          `http://127.0.0.1:${baselinePort}${path}`,
          run,
          String(connections),
        ];
        const platformArgs = (run: string) => [
          'http',
          `${apiUrl}${route}`,
          run,
          String(connections),
          JSON.stringify(headers),
        ];
        const measured = await sideBySide(
          {
            warmUp: () => loadRun(baselineArgs('1')),
            run: () => measuredRun(baselineServer.child.pid, baselineArgs(half)),
          },
          {
            warmUp: () => loadRun(platformArgs('1')),
            run: () => measuredRun(api.child.pid, platformArgs(half)),
          },
        );
        compare(`GET ${route}`, measured.platform, measured.baseline, {
          ratio: targets[path as keyof typeof targets],
        });
      }
      baselineServer.child.kill('SIGTERM');
    }

    // Checkouts against the no-op workflow of the same shape, same concurrency, same Temporal.
    if (scenarios.has('checkout')) {
      // Interleaved like the reads (sideBySide), after two seconds of warm-up each: in single
      // 20-second runs, one after the other, the ratio spread 0.79x-1.00x.
      const noopArgs = (run: number) => [
        'noop',
        temporal.address,
        'bench-noop',
        String(run),
        String(checkoutConcurrency),
      ];
      const checkoutArgs = (run: number) => [
        'checkout',
        apiUrl,
        String(run),
        String(checkoutConcurrency),
        JSON.stringify(tokens.slice(1)),
      ];
      const warmUp = Math.min(2, seconds);
      const measured = await sideBySide(
        { warmUp: () => loadRun(noopArgs(warmUp)), run: () => loadRun(noopArgs(seconds / 2)) },
        { warmUp: () => loadRun(checkoutArgs(warmUp)), run: () => loadRun(checkoutArgs(seconds / 2)) },
      );
      compare(
        `POST /api/v1/checkout (${checkoutConcurrency} concurrent)`,
        measured.platform,
        measured.baseline,
        {
          ratio: 0.8,
          p50Ratio: 1.5,
        },
      );
    }

    // Reservations: one hot product for everyone against a product per checkout.
    if (scenarios.has('reservations')) {
      const inventory = createInventoryService({ db: database.db, clock: systemClock });
      const spread = await Promise.all(
        Array.from({ length: 16 }, async (_, i) => {
          const [row] = await database.db.execute<{ id: string }>(sql`
          with p as (insert into products (name, price_cents) values (${`Bench ${i}`}, 100) returning id)
          insert into inventory (product_id, on_hand) select id, 10000000 from p returning product_id as id`);
          return Number(row?.id);
        }),
      );
      // 16 checkouts in a closed loop, each on a product of its own or all on one; interleaved
      // after a second of warm-up each, like the other scenarios.
      const cycles = (products: (slot: number) => number[]) => (run: number) =>
        closedLoop(run, 16, (slot) => reservationCycle(inventory, products(slot)));
      const uncontended = cycles((slot) => [spread[slot] as number]);
      const hot = cycles(() => [4]);
      const measured = await sideBySide(
        { warmUp: () => uncontended(1), run: () => uncontended(seconds / 2) },
        { warmUp: () => hot(1), run: () => hot(seconds / 2) },
      );
      compare('reserve+release, 16 concurrent, one hot product', measured.platform, measured.baseline, {
        ratio: 0.5,
      });
    }

    const memory = { apiRssMiB: rssOf(api.child.pid), workerRssMiB: rssOf(worker.child.pid) };
    report(memory);
    if (values.json) writeFileSync(values.json, `${JSON.stringify({ comparisons, memory }, null, 2)}\n`);
    const failures = comparisons.filter((entry) => entry.figures.errors > 0);
    if (failures.length > 0)
      throw new Error(`errors during ${failures.map((entry) => entry.scenario).join(', ')}`);
  } finally {
    // Gracefully, so that profiles (--profile) are written on the way out.
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const forced = setTimeout(() => child.kill('SIGKILL'), 20_000);
            child.once('exit', () => {
              clearTimeout(forced);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    await database.close();
    await Promise.allSettled([temporal.stop(), redis?.stop(), pg.stop()]);
    rmSync(runDir, { recursive: true, force: true });
  }
}

function report(memory: { apiRssMiB: number; workerRssMiB: number }): void {
  console.log(
    `\nMachine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
  );
  console.log(
    `Run: ${seconds} s per scenario, ${connections} connections for reads, ${checkoutConcurrency} concurrent checkouts\n`,
  );
  console.table(
    comparisons.map((entry) => ({
      scenario: entry.scenario,
      'per s': Math.round(entry.figures.rps),
      'baseline per s': Math.round(entry.baseline.rps),
      ratio: `${entry.ratio.toFixed(2)}x`,
      'target ratio': entry.target?.ratio ? `>= ${entry.target.ratio}x` : '',
      'p50 ms': entry.figures.p50.toFixed(1),
      'baseline p50 ms': entry.baseline.p50.toFixed(1),
      'p99 ms': entry.figures.p99.toFixed(1),
      'baseline p99 ms': entry.baseline.p99.toFixed(1),
      'server CPU us/req':
        entry.figures.serverCpuUs === undefined
          ? ''
          : `${entry.figures.serverCpuUs.toFixed(0)} vs ${entry.baseline.serverCpuUs?.toFixed(0)}`,
      met: met(entry) ? 'yes' : 'NO',
    })),
  );
  console.log(
    `RSS after the run: API ${memory.apiRssMiB.toFixed(0)} MiB, worker ${memory.workerRssMiB.toFixed(0)} MiB`,
  );
}

function met(entry: Comparison): boolean {
  const ratioOk = entry.target?.ratio === undefined || entry.ratio >= entry.target.ratio;
  const p50Ok =
    entry.target?.p50Ratio === undefined || entry.figures.p50 <= entry.target.p50Ratio * entry.baseline.p50;
  return ratioOk && p50Ok;
}

main().catch((error: unknown) => {
  console.error(error);
  for (const child of children) child.kill('SIGKILL');
  process.exit(1);
});
