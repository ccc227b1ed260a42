import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { TEST_JWT_SECRET, TEST_WEBHOOK_SECRET } from './app.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const ROLES = {
  worker: { entry: 'workers/main.ts' },
  api: { entry: 'api/server.ts' },
} as const;

/** The worker says so once it polls; the API once `/health` answers (its log may still sit in a buffer). */
async function isReady(
  role: keyof typeof ROLES,
  output: string,
  httpPort: string | undefined,
): Promise<boolean> {
  if (role === 'worker') return output.includes('"worker running"');
  try {
    return (await fetch(`http://127.0.0.1:${httpPort}/health`, { signal: AbortSignal.timeout(1_000) })).ok;
  } catch {
    return false;
  }
}

export interface PlatformProcess {
  pid: number;
  /** Everything the process printed so far. */
  output(): string;
  /** Exit code or signal once it exited, undefined while it runs. */
  exited(): number | NodeJS.Signals | undefined;
  /** SIGKILL: no drain, no goodbye, in-flight work is abandoned mid-way. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the drain. */
  stop(): Promise<void>;
}

/**
 * A real entry point (`workers/main.ts` or `api/server.ts`) in its own process, on a test
 * database and a test's task-queue prefix: what `npm start` runs, so a test can watch it survive
 * (or kill it like an operator's bad day).
 */
export async function startPlatformProcess(
  role: keyof typeof ROLES,
  options: {
    databaseUrl: string;
    redisUrl: string;
    taskQueuePrefix: string;
    env?: Record<string, string>;
    /** How much output to keep (the tail); a test that scans every log line keeps it all. */
    keepOutputBytes?: number;
  },
): Promise<PlatformProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', ROLES[role].entry], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      DATABASE_URL: options.databaseUrl,
      REDIS_URL: options.redisUrl,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE_PREFIX: options.taskQueuePrefix,
      LOG_LEVEL: 'info',
      JWT_SECRET: TEST_JWT_SECRET,
      WORKER_METRICS_PORT: '0',
      PAYMENT_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let ready = false;
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    ready ||= output.includes('"worker running"');
    // Keep the tail: enough to explain a failure, bounded under heavy traffic.
    const keep = options.keepOutputBytes ?? 100_000;
    if (output.length > 2 * keep) output = output.slice(-keep);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  while (!(ready || (await isReady(role, output, options.env?.HTTP_PORT)))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the ${role} process did not start:\n${output.slice(-3000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`the ${role} process has no pid`);
  return {
    pid,
    output: () => output,
    exited: () => child.signalCode ?? child.exitCode ?? undefined,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
