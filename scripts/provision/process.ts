import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export type Log = (message: string) => void;

/** How a process ended: its exit code, or the signal that killed it (both null if it never ran). */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  name: string;
  pid: number;
  /** Where its output goes; undefined when it shares the supervisor's stdout and stderr. */
  logFile: string | undefined;
  /** Resolves when the process has exited, whatever the reason. */
  exited: Promise<ExitStatus>;
  /**
   * Sends `signal` (SIGTERM unless told otherwise) to the process and waits up to `timeoutMs`
   * before SIGKILL to its whole group. SIGKILL itself goes to the group at once.
   */
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
  cwd?: string;
  /** `inherit`: write to the supervisor's stdout and stderr instead of `<runDir>/<name>.log`. */
  output?: 'log' | 'inherit';
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Spawns a long-running server in its own process group, so a terminal Ctrl-C reaches only
 * the supervisor, which then stops children in order. Output goes to `<runDir>/<name>.log`.
 * A pid file lets the next run clear a process left behind by a supervisor that was killed hard.
 * When the process exits, whatever is left of its group (Postgres backends after the postmaster
 * was killed, a tsx esbuild service) is killed too, so a restart finds its port and memory free.
 */
export function spawnManaged(
  name: string,
  command: string,
  args: string[],
  options: SpawnOptions,
): ManagedProcess {
  mkdirSync(options.runDir, { recursive: true });
  const logFile = options.output === 'inherit' ? undefined : join(options.runDir, `${name}.log`);
  const pidFile = join(options.runDir, `${name}.pid`);
  killStale(pidFile);
  const fd = logFile === undefined ? undefined : openSync(logFile, 'a');
  const child = spawn(command, args, {
    detached: true,
    stdio: fd === undefined ? ['ignore', 'inherit', 'inherit'] : ['ignore', fd, fd],
    env: options.env ?? process.env,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid }),
  });
  if (fd !== undefined) closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  const pid = child.pid;
  writeFileSync(pidFile, `${pid}\n`);
  live.add(child);
  installExitHook();

  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // the group is empty
      }
      rmSync(pidFile, { force: true });
      resolve({ code, signal });
    });
    child.once('error', () => {
      live.delete(child);
      resolve({ code: null, signal: null });
    });
  });

  return {
    name,
    pid,
    logFile,
    exited,
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (signal === 'SIGKILL') signalGroup(pid, signal);
      else signalProcess(pid, signal);
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
      if (logFile === undefined) return '';
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
    signalProcess(pid, signal);
  }
}

function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
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

/**
 * A TCP port that was free a moment ago (prefers `preferred` when it is free). With `strict`,
 * `preferred` or an error: a server restarted after a crash must come back where its clients are.
 */
export async function freePort(
  preferred = 0,
  { strict = false }: { strict?: boolean } = {},
): Promise<number> {
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
    if (strict) throw new Error(`port ${preferred} is in use`);
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
  let exit: ExitStatus | undefined;
  void options.process?.exited.then((status) => {
    exit = status;
  });
  while (Date.now() < deadline) {
    if (exit) {
      throw new Error(
        `${what} exited during start-up (${describeExit(exit)}). Last log lines:\n${options.process?.tail() ?? ''}`,
      );
    }
    if (await probe().catch(() => false)) return;
    await sleep(options.intervalMs ?? 200);
  }
  throw new Error(
    `${what} was not ready after ${options.timeoutMs} ms.${options.process ? ` Last log lines:\n${options.process.tail()}` : ''}`,
  );
}

/** `code 1`, `signal SIGKILL`: for log lines. */
export function describeExit({ code, signal }: ExitStatus): string {
  if (signal) return `signal ${signal}`;
  return code === null ? 'did not run' : `code ${code}`;
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
