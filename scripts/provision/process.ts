import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export type Log = (message: string) => void;

export interface ManagedProcess {
  name: string;
  pid: number;
  logFile: string;
  /** Resolves when the process has exited, whatever the reason. */
  exited: Promise<number | null>;
  /** Signals the process (SIGTERM unless told otherwise) and waits up to `timeoutMs` before SIGKILL. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
  /** The last lines of its log, for error messages. */
  tail(lines?: number): string;
}

export interface SpawnOptions {
  /** Directory for `<name>.log` and `<name>.pid`. */
  runDir: string;
  uid?: number;
  gid?: number;
  env?: NodeJS.ProcessEnv;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Spawns a long-running server in its own process group, so a terminal Ctrl-C reaches only
 * the supervisor, which then stops children in order. Output goes to `<runDir>/<name>.log`.
 * A pid file lets the next run clear a process left behind by a supervisor that was killed hard.
 */
export function spawnManaged(
  name: string,
  command: string,
  args: string[],
  options: SpawnOptions,
): ManagedProcess {
  mkdirSync(options.runDir, { recursive: true });
  const logFile = join(options.runDir, `${name}.log`);
  const pidFile = join(options.runDir, `${name}.pid`);
  killStale(pidFile);
  const fd = openSync(logFile, 'a');
  const child = spawn(command, args, {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: options.env ?? process.env,
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid }),
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  const pid = child.pid;
  writeFileSync(pidFile, `${pid}\n`);
  live.add(child);
  installExitHook();

  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      live.delete(child);
      rmSync(pidFile, { force: true });
      resolve(code);
    });
    child.once('error', () => {
      live.delete(child);
      resolve(null);
    });
  });

  return {
    name,
    pid,
    logFile,
    exited,
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      signalGroup(pid, signal);
      let timer: NodeJS.Timeout | undefined;
      const done = await Promise.race([
        exited.then(() => true),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (!done) {
        signalGroup(pid, 'SIGKILL');
        await exited;
      }
    },
    tail(lines = 30) {
      try {
        return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
  };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function killStale(pidFile: string): void {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  if (Number.isInteger(pid) && pid > 1) signalGroup(pid, 'SIGKILL');
  rmSync(pidFile, { force: true });
}

/** If the supervisor exits without stopping its children (a crash), take them down with it. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
  });
}

/** A TCP port that was free a moment ago (prefers `preferred` when it is free). */
export async function freePort(preferred = 0): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<number | undefined>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(undefined));
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        const chosen = typeof address === 'object' && address ? address.port : undefined;
        server.close(() => resolve(chosen));
      });
    });
  if (preferred > 0) {
    const port = await tryPort(preferred);
    if (port !== undefined) return port;
  }
  const port = await tryPort(0);
  if (port === undefined) throw new Error('no free TCP port');
  return port;
}

/** Polls `probe` until it resolves true, the process dies, or the deadline passes. */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  options: { timeoutMs: number; process?: ManagedProcess; intervalMs?: number },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let died = false;
  let exitCode: number | null = null;
  void options.process?.exited.then((code) => {
    died = true;
    exitCode = code;
  });
  while (Date.now() < deadline) {
    if (died) {
      throw new Error(
        `${what} exited during start-up (code ${exitCode}). Last log lines:\n${options.process?.tail() ?? ''}`,
      );
    }
    if (await probe().catch(() => false)) return;
    await sleep(options.intervalMs ?? 200);
  }
  throw new Error(
    `${what} was not ready after ${options.timeoutMs} ms.${options.process ? ` Last log lines:\n${options.process.tail()}` : ''}`,
  );
}

/** The first executable found among `candidates` (absolute paths or names looked up on PATH). */
export async function findExecutable(candidates: Array<string | undefined>): Promise<string | undefined> {
  const { access, constants } = await import('node:fs/promises');
  const dirs = (process.env.PATH ?? '').split(':').filter(Boolean);
  for (const candidate of candidates) {
    if (!candidate) continue;
    const paths = candidate.includes('/') ? [candidate] : dirs.map((dir) => join(dir, candidate));
    for (const path of paths) {
      try {
        await access(path, constants.X_OK);
        return path;
      } catch {
        // keep looking
      }
    }
  }
  return undefined;
}
