import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORIGINAL_GATEWAY_JWT_SECRET } from '../infra/config.js';
import { signToken } from '../infra/jwt.js';
import { loadLocalSecrets } from '../infra/local-secrets.js';
import {
  groupIsAlive,
  holdPort,
  isAlive,
  killGroup,
  type NpmStart,
  startNpmStart,
} from '../test/support/npm-start.js';
import { waitFor } from '../test/support/redis.js';
import { CHECKOUT_WORKFLOW_TYPE, checkoutWorkflowId } from '../workflows/checkout.contract.js';
import { type ExitStatus, freePort } from './provision/process.js';
import { findRedisServer } from './provision/redis.js';

const run = promisify(execFile);
const redisInstalled = (await findRedisServer()) !== undefined;

let platform: NpmStart;
// Each run has its own database and Redis, so user ids cannot collide with other tests.
let nextUser = 1_000;

/** Waits for `probe`, failing with the end of npm start's output so the reason is visible. */
async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 30_000) {
  try {
    await waitFor(what, probe, { timeoutMs, intervalMs: 25 });
  } catch (error) {
    throw new Error(
      `${(error as Error).message}\n--- npm start output ---\n${platform.output().slice(-6_000)}`,
    );
  }
}

async function get(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  try {
    const response = await fetch(`${platform.baseUrl}${path}`, { signal: AbortSignal.timeout(5_000) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  } catch {
    return { status: 0, body: {} };
  }
}

const ready = () => get('/ready') as Promise<{ status: number; body: { checks?: Record<string, string> } }>;

interface CheckedOut {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

/** A new shopper puts a laptop in the cart and checks out: the whole saga through the worker. */
async function checkOut(): Promise<CheckedOut> {
  const userId = nextUser++;
  const headers = {
    // The secret npm start generated in its data directory, as `npm run token` would read it.
    Authorization: `Bearer ${await signToken(loadLocalSecrets(platform.dataDir).jwtSecret, { userId })}`,
    'Content-Type': 'application/json',
  };
  const added = await fetch(`${platform.baseUrl}/api/v1/cart/items`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ product_id: 1, quantity: 1 }),
  });
  expect(added.status, await added.text()).toBeLessThan(300);
  const response = await fetch(`${platform.baseUrl}/api/v1/checkout`, {
    method: 'POST',
    headers: { ...headers, 'Idempotency-Key': `npm-start-${userId}` },
    body: '{}',
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown>, headers };
}

/** The port of a server as the start banner prints it (`  Redis          redis://127.0.0.1:6380`). */
function bannerPort(label: string): number {
  const port = Number(
    new RegExp(`^  ${label} +\\S+://\\S*127\\.0\\.0\\.1:(\\d+)`, 'm').exec(platform.output())?.[1],
  );
  if (!port) throw new Error(`no ${label} port in the start banner`);
  return port;
}

/** SIGKILLs `name`'s current process and waits for the supervisor to report a new one. */
async function killAndAwaitRestart(name: string, { group }: { group: boolean }): Promise<[number, number]> {
  const before = platform.pid(name);
  if (before === undefined) throw new Error(`npm start reported no ${name} pid`);
  process.kill(group ? -before : before, 'SIGKILL');
  await until(`${name} to be restarted`, () => platform.pid(name) !== before, 60_000);
  expect(platform.output()).toMatch(
    new RegExp(
      `^\\[start\\] ${name} \\(pid ${before}\\) exited unexpectedly \\(signal SIGKILL\\); restarting in`,
      'm',
    ),
  );
  expect(isAlive(before)).toBe(false);
  return [before, platform.pid(name) as number];
}

describe('npm start', () => {
  beforeAll(async () => {
    // Nothing is set but ports and a data directory. A generous CHECKOUT_WAIT_MS lets a checkout
    // answer with its outcome even while a freshly restarted worker is still starting to poll.
    platform = await startNpmStart({ CHECKOUT_WAIT_MS: '60000', REQUEST_TIMEOUT: '90s' });
    await until(
      'npm start to serve /health and /ready',
      async () => {
        return (await get('/health')).status === 200 && (await ready()).status === 200;
      },
      120_000,
    );
  }, 130_000);

  afterAll(async () => {
    await platform?.destroy();
  });

  it('comes up with every component it started', async () => {
    for (const name of ['postgres', 'temporal', 'worker', 'api', ...(redisInstalled ? ['redis'] : [])])
      expect(platform.pid(name), name).toBeGreaterThan(0);
    await until('the start banner', () => platform.output().includes('The platform is up:'));
    expect((await ready()).body.checks).toEqual({
      postgres: 'ok',
      redis: redisInstalled ? 'ok' : 'disabled',
      temporal: 'ok',
    });
  });

  it('is safe by default: its own secrets, loopback only, the published secret refused', async () => {
    const { jwtSecret } = loadLocalSecrets(platform.dataDir);
    expect(jwtSecret).not.toBe(ORIGINAL_GATEWAY_JWT_SECRET);
    // A token minted with the original gateway's published secret grants nothing, admin or not.
    const forged = await signToken(ORIGINAL_GATEWAY_JWT_SECRET, { userId: 1, admin: true });
    const stock = await fetch(`${platform.baseUrl}/api/v1/inventory/1`, {
      headers: { Authorization: `Bearer ${forged}` },
    });
    expect(stock.status).toBe(401);
    const genuine = await signToken(jwtSecret, { userId: 1, admin: true });
    expect(
      (
        await fetch(`${platform.baseUrl}/api/v1/inventory/1`, {
          headers: { Authorization: `Bearer ${genuine}` },
        })
      ).status,
    ).toBe(200);
    // The API listens on loopback only.
    expect(listeningAddresses(Number(new URL(platform.baseUrl).port))).toEqual(['127.0.0.1']);
  });

  it('restarts a killed API, which serves the catalog again', async () => {
    await killAndAwaitRestart('api', { group: false });
    await until('/health to answer again', async () => (await get('/health')).status === 200);
    const { status, body } = await get('/api/v1/products');
    expect(status).toBe(200);
    expect(body.products).toHaveLength(5);
  }, 90_000);

  it('restarts a killed worker, which completes the next checkout', async () => {
    const apiPid = platform.pid('api');
    await killAndAwaitRestart('worker', { group: false });
    const { status, body } = await checkOut();
    expect(status, JSON.stringify(body)).toBe(201);
    expect(body.status).toBe('COMPLETED');
    expect(platform.pid('api')).toBe(apiPid);
  }, 120_000);

  it('restarts a killed Temporal on its port and history file; API and worker reconnect by themselves', async () => {
    const before = await checkOut();
    expect(before.body.status).toBe('COMPLETED');
    const [apiPid, workerPid, temporalPid] = ['api', 'worker', 'temporal'].map((name) => platform.pid(name));
    if (temporalPid === undefined) throw new Error('npm start reported no temporal pid');

    // The dev server comes back in about a second, within /ready's own retries. Holding its port
    // for a moment shows the outage in /ready and that the supervisor waits for that port rather
    // than moving to another one the API and worker do not know about.
    process.kill(-temporalPid, 'SIGKILL');
    const port = await holdPort(platform.temporalPort);
    try {
      await until('/ready to report Temporal failing', async () => {
        const { status, body } = await ready();
        return status === 503 && body.checks?.temporal !== 'ok' && body.checks?.postgres === 'ok';
      });
      await until('the supervisor to find the port taken', () =>
        platform.output().includes(`temporal did not start (port ${platform.temporalPort} is in use)`),
      );
    } finally {
      await port.release();
    }
    await until('Temporal to be restarted', () => platform.pid('temporal') !== temporalPid, 60_000);
    await until('/ready to be ok again', async () => (await ready()).status === 200, 60_000);

    const after = await checkOut();
    expect(after.status, JSON.stringify(after.body)).toBe(201);
    expect(after.body.status).toBe('COMPLETED');
    expect([platform.pid('api'), platform.pid('worker')]).toEqual([apiPid, workerPid]);

    // Same SQLite file: the saga of the checkout from before the crash is still known to Temporal
    // (a fresh history file would answer "workflow not found").
    const connection = await Connection.connect({ address: `127.0.0.1:${platform.temporalPort}` });
    try {
      const handle = new Client({ connection }).workflow.getHandle(
        checkoutWorkflowId(String(before.body.checkout_id)),
      );
      expect((await handle.describe()).type).toBe(CHECKOUT_WORKFLOW_TYPE);
    } finally {
      await connection.close();
    }
  }, 150_000);

  it.skipIf(!redisInstalled)(
    'restarts a killed redis-server; /ready reports it failing, then ok',
    async () => {
      const redisPid = platform.pid('redis');
      if (redisPid === undefined) throw new Error('npm start reported no redis pid');
      const redisPort = bannerPort('Redis');

      process.kill(-redisPid, 'SIGKILL');
      const port = await holdPort(redisPort);
      try {
        await until('/ready to report Redis failing', async () => {
          const { status, body } = await ready();
          return status === 503 && body.checks?.redis !== 'ok' && body.checks?.temporal === 'ok';
        });
      } finally {
        await port.release();
      }
      await until('redis-server to be restarted', () => platform.pid('redis') !== redisPid);
      await until('/ready to report Redis ok again', async () => {
        const { status, body } = await ready();
        return status === 200 && body.checks?.redis === 'ok';
      });
    },
    60_000,
  );

  it('restarts a killed Postgres on its port and data directory; API and worker reconnect by themselves', async () => {
    const before = await checkOut();
    expect(before.body.status).toBe('COMPLETED');
    const [apiPid, workerPid, postgresPid] = ['api', 'worker', 'postgres'].map((name) => platform.pid(name));
    if (postgresPid === undefined) throw new Error('npm start reported no postgres pid');

    // Only the postmaster, as an OOM killer would: the supervisor must clear the backends it leaves.
    process.kill(postgresPid, 'SIGKILL');
    const port = await holdPort(bannerPort('Postgres'));
    try {
      await until('/ready to report Postgres failing', async () => {
        const { status, body } = await ready();
        return status === 503 && body.checks?.postgres !== 'ok' && body.checks?.temporal === 'ok';
      });
    } finally {
      await port.release();
    }
    await until('Postgres to be restarted', () => platform.pid('postgres') !== postgresPid, 60_000);
    await until('/ready to be ok again', async () => (await ready()).status === 200, 60_000);

    const after = await checkOut();
    expect(after.status, JSON.stringify(after.body)).toBe(201);
    expect(after.body.status).toBe('COMPLETED');
    // Same data directory: the checkout from before the crash is still recorded.
    const earlier = await fetch(`${platform.baseUrl}/api/v1/checkout/${before.body.checkout_id}`, {
      headers: before.headers,
    });
    expect(earlier.status).toBe(200);
    expect(((await earlier.json()) as { status: string }).status).toBe('COMPLETED');
    expect([platform.pid('api'), platform.pid('worker')]).toEqual([apiPid, workerPid]);
  }, 120_000);

  it('stops everything on Ctrl-C and leaves no process behind', async () => {
    const pids = platform.allPids();
    let exit: ExitStatus | undefined;
    void platform.exited.then((status) => {
      exit = status;
    });
    process.kill(-platform.supervisorPid, 'SIGINT');
    await until('npm start to stop', () => exit !== undefined, 60_000);
    expect(exit).toEqual({ code: 0, signal: null });

    const afterStop = platform.output().slice(platform.output().indexOf('[start] stopping'));
    expect(afterStop).not.toMatch(/exited unexpectedly|started \(pid/);
    expect(afterStop).toContain('[start] stopped');
    // The supervisor waited for each of its processes to exit...
    expect(pids.filter(isAlive)).toEqual([]);
    // ...and killed what they left in their process groups, which the kernel clears a moment later.
    let leftovers: string[] = [];
    await until(
      'no process to be left',
      async () => {
        const { stdout } = await run('pgrep', ['-a', '-f', platform.dataDir]).catch(() => ({ stdout: '' }));
        leftovers = [...pids.filter(groupIsAlive).map((pid) => `process group ${pid}`), stdout.trim()];
        leftovers = leftovers.filter(Boolean);
        return leftovers.length === 0;
      },
      5_000,
    ).catch((error: Error) => {
      throw new Error(`left behind: ${leftovers.join(', ')}\n${error.message}`);
    });
  }, 90_000);
});

describe('npm start killed with SIGKILL', () => {
  let again: ChildProcess | undefined;
  let againOutput = '';

  beforeAll(async () => {
    // Info logs, to see the API and the worker drain.
    platform = await startNpmStart({ CHECKOUT_WAIT_MS: '60000', REQUEST_TIMEOUT: '90s', LOG_LEVEL: 'info' });
    await until(
      'npm start to serve /health and /ready',
      async () => (await get('/health')).status === 200 && (await ready()).status === 200,
      120_000,
    );
  }, 130_000);

  afterAll(async () => {
    if (again?.pid !== undefined && again.exitCode === null && again.signalCode === null) {
      // Two stop signals: the supervisor then kills every process group it runs.
      process.kill(again.pid, 'SIGINT');
      process.kill(again.pid, 'SIGTERM');
      await waitFor('the second npm start to exit', () => again?.exitCode !== null, {
        timeoutMs: 5_000,
      }).catch(() => again?.pid && killGroup(again.pid));
    }
    await platform?.destroy();
  });

  it('leaves no API or worker running: both notice and drain; the next npm start on the same data clears the servers left behind', async () => {
    const before = await checkOut();
    expect(before.body.status).toBe('COMPLETED');
    const apiPid = platform.pid('api') as number;
    const workerPid = platform.pid('worker') as number;
    const servers = ['postgres', 'temporal', ...(redisInstalled ? ['redis'] : [])].map(
      (name) => platform.pid(name) as number,
    );

    const killedAt = Date.now();
    process.kill(platform.supervisorPid, 'SIGKILL');
    expect(await platform.exited).toEqual({ code: null, signal: 'SIGKILL' });
    await until('the API and the worker to exit', () => !isAlive(apiPid) && !isAlive(workerPid), 10_000);
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    // They drained as on SIGTERM, each noticing by itself that its supervisor was gone.
    expect(platform.output()).toMatch(/"signal":"supervisor gone".*"msg":"shutting down: draining/);
    expect(platform.output()).toMatch(/"msg":"API stopped"/);
    expect(platform.output()).toMatch(/"msg":"the npm start supervisor is gone: shutting down"/);
    expect(platform.output()).toMatch(/"msg":"worker stopped"/);
    // Postgres, Redis and Temporal are other programs: nothing stops them when the supervisor dies.
    expect(servers.filter(isAlive)).toEqual(servers);

    // The next npm start on the same data directory kills them by their pid files and starts again
    // on the same data: the checkout from before is still there, and the next one completes.
    again = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        DATA_DIR: platform.dataDir,
        HTTP_PORT: String(platform.httpPort),
        TEMPORAL_PORT: String(platform.temporalPort),
        TEMPORAL_UI_PORT: String(await freePort()),
        DATABASE_URL: '',
        REDIS_URL: '',
        TEMPORAL_ADDRESS: '',
        TEMPORAL_TASK_QUEUE_PREFIX: '',
        CHECKOUT_WAIT_MS: '60000',
        REQUEST_TIMEOUT: '90s',
        LOG_LEVEL: 'warn',
      },
    });
    const collect = (chunk: Buffer) => {
      againOutput += chunk.toString();
    };
    again.stdout?.on('data', collect);
    again.stderr?.on('data', collect);
    await waitFor('the second npm start to be up', () => againOutput.includes('The platform is up:'), {
      timeoutMs: 120_000,
      intervalMs: 100,
    }).catch((error: Error) => {
      throw new Error(`${error.message}\n--- second npm start ---\n${againOutput.slice(-6_000)}`);
    });
    expect(againOutput).toMatch(
      /^\[start\] killing what an earlier run left behind: .*postgres \(pid \d+\)/m,
    );
    expect(servers.filter(isAlive)).toEqual([]);
    expect((await ready()).body.checks).toMatchObject({ postgres: 'ok', temporal: 'ok' });
    const earlier = await fetch(`${platform.baseUrl}/api/v1/checkout/${before.body.checkout_id}`, {
      headers: before.headers,
    });
    expect(earlier.status).toBe(200);
    expect(((await earlier.json()) as { status: string }).status).toBe('COMPLETED');
    const after = await checkOut();
    expect(after.status, JSON.stringify(after.body)).toBe(201);
    expect(after.body.status).toBe('COMPLETED');

    const exited = new Promise((resolve) => again?.once('exit', (code, signal) => resolve({ code, signal })));
    process.kill(again.pid as number, 'SIGINT');
    expect(await exited).toEqual({ code: 0, signal: null });
  }, 300_000);
});

/** The local addresses of the sockets listening on `port`, from the kernel's TCP tables. */
function listeningAddresses(port: number): string[] {
  const addresses: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.trim().split('\n').slice(1)) {
      const [, local = '', , state] = line.trim().split(/\s+/);
      const [hexAddress = '', hexPort = ''] = local.split(':');
      if (state !== '0A' || Number.parseInt(hexPort, 16) !== port) continue; // 0A: LISTEN
      addresses.push(
        hexAddress.length === 8
          ? (hexAddress.match(/../g) ?? [])
              .reverse()
              .map((byte) => Number.parseInt(byte, 16))
              .join('.')
          : `ipv6:${hexAddress}`,
      );
    }
  }
  return addresses;
}
