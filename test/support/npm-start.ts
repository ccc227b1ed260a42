import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { ExitStatus } from '../../scripts/provision/process.js';
import { freePort } from '../../scripts/provision/process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface NpmStart {
  dataDir: string;
  httpPort: number;
  temporalPort: number;
  /** `http://127.0.0.1:<HTTP_PORT>` */
  baseUrl: string;
  /** Everything the supervisor and its children printed so far. */
  output(): string;
  /** The pid of the latest `[start] <name> started (pid N)` line, if any. */
  pid(name: string): number | undefined;
  /** Every pid the supervisor reported starting. */
  allPids(): number[];
  /** The supervisor's own pid (also its process group). */
  supervisorPid: number;
  /** Resolves when the supervisor has exited. */
  exited: Promise<ExitStatus>;
  /** Kills whatever is left (after a failed test) and removes the data directory. */
  destroy(): Promise<void>;
}

/**
 * `npm start` as a user runs it (the supervisor script under tsx) in its own process group, with a
 * fresh data directory and free ports; nothing pointed at external servers.
 */
export async function startNpmStart(env: Record<string, string> = {}): Promise<NpmStart> {
  const dataDir = mkdtempSync(join(tmpdir(), 'commerce-npm-start-'));
  // As root, Postgres runs as the postgres user, which must be able to enter this directory.
  chmodSync(dataDir, 0o755);
  const [httpPort, temporalPort, temporalUiPort] = [await freePort(), await freePort(), await freePort()];
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      HTTP_PORT: String(httpPort),
      TEMPORAL_PORT: String(temporalPort),
      TEMPORAL_UI_PORT: String(temporalUiPort),
      DATABASE_URL: '',
      REDIS_URL: '',
      TEMPORAL_ADDRESS: '',
      TEMPORAL_TASK_QUEUE_PREFIX: '',
      LOG_LEVEL: 'warn',
      ...env,
    },
  });
  const supervisorPid = child.pid;
  if (supervisorPid === undefined) throw new Error('npm start did not spawn');
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let done = false;
  const exited = new Promise<ExitStatus>((resolve) =>
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    }),
  );

  const started = () =>
    [...output.matchAll(/^\[start\] (\w+) started \(pid (\d+)\)$/gm)].map(([, name, pid]) => ({
      name,
      pid: Number(pid),
    }));

  return {
    dataDir,
    httpPort,
    temporalPort,
    baseUrl: `http://127.0.0.1:${httpPort}`,
    output: () => output,
    pid: (name) => started().findLast((entry) => entry.name === name)?.pid,
    allPids: () => started().map((entry) => entry.pid),
    supervisorPid,
    exited,
    async destroy() {
      if (!done) {
        // A second stop signal makes the supervisor kill every process group it still runs (two
        // different signals, since two pending SIGINTs may be merged into one).
        process.kill(supervisorPid, 'SIGINT');
        process.kill(supervisorPid, 'SIGTERM');
        await Promise.race([exited, sleep(5_000)]);
        if (!done) {
          const latest = new Map(started().map((entry) => [entry.name, entry.pid]));
          for (const pid of [...latest.values(), supervisorPid]) killGroup(pid);
        }
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** True while a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True while any process is left in the process group led by `pid`. */
export function groupIsAlive(pid: number): boolean {
  return isAlive(-pid);
}

export function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Takes `port` as soon as it is free and refuses every connection to it (accept, then close), as
 * another program grabbing the port of a crashed server would; `release` gives it back.
 */
export async function holdPort(
  port: number,
  { timeoutMs = 2_000 } = {},
): Promise<{ release(): Promise<void> }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const server: Server = createServer((socket) => socket.destroy());
    const listening = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (listening) {
      return { release: () => new Promise<void>((resolve) => server.close(() => resolve())) };
    }
    if (Date.now() > deadline) throw new Error(`port ${port} was not free within ${timeoutMs} ms`);
    await sleep(5);
  }
}
