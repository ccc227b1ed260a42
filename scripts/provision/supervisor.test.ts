import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { ExitStatus } from './process.js';
import {
  createSupervisor,
  DEFAULT_RESTART_POLICY,
  type Incarnation,
  nextRestartDelay,
} from './supervisor.js';

const policy = DEFAULT_RESTART_POLICY;

describe('nextRestartDelay', () => {
  it.each([
    { previous: undefined, upFor: 0, expected: 500, why: 'first crash' },
    { previous: 500, upFor: 1_000, expected: 1_000, why: 'crashed again soon: doubles' },
    { previous: 8_000, upFor: 59_999, expected: 16_000, why: 'still inside the reset window' },
    { previous: 16_000, upFor: 0, expected: 30_000, why: 'capped' },
    { previous: 30_000, upFor: 10, expected: 30_000, why: 'stays at the cap' },
    { previous: 30_000, upFor: 60_000, expected: 500, why: 'stayed up a minute: back to the start' },
  ])('$why: $previous after $upFor ms up -> $expected', ({ previous, upFor, expected }) => {
    expect(nextRestartDelay(previous, upFor, policy)).toBe(expected);
  });
});

/** A fake process that exits when told to, and records whether the supervisor stopped it. */
class FakeProcess implements Incarnation {
  static nextPid = 100;
  readonly pid = FakeProcess.nextPid++;
  stopped = false;
  running = true;
  #exit!: (status: ExitStatus) => void;
  readonly exited = new Promise<ExitStatus>((resolve) => {
    this.#exit = resolve;
  });

  constructor(private readonly events: string[]) {}

  crash(status: ExitStatus = { code: 1, signal: null }): void {
    this.running = false;
    this.#exit(status);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.events.push(`stop ${this.pid}`);
    this.stopped = true;
    this.running = false;
    this.#exit({ code: 0, signal: null });
  }
}

async function until(what: string, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const fast = { initialDelayMs: 10, maxDelayMs: 40, resetAfterMs: 60_000 };

describe('createSupervisor', () => {
  it('restarts a process that crashed, with growing delays, saying why and which pid replaced it', async () => {
    const lines: string[] = [];
    const events: string[] = [];
    const supervisor = createSupervisor({ log: (line) => lines.push(line), policy: fast });
    const runs = [new FakeProcess(events)];
    supervisor.watch('api', runs[0] as FakeProcess, async () => {
      const next = new FakeProcess(events);
      runs.push(next);
      return next;
    });

    runs[0]?.crash({ code: null, signal: 'SIGKILL' });
    await until('a second run', () => runs.length === 2);
    runs[1]?.crash();
    await until('a third run', () => runs.length === 3);

    const [first, second, third] = runs.map((run) => run.pid);
    expect(lines).toEqual([
      `api started (pid ${first})`,
      `api (pid ${first}) exited unexpectedly (signal SIGKILL); restarting in 10 ms`,
      `api started (pid ${second})`,
      `api (pid ${second}) exited unexpectedly (code 1); restarting in 20 ms`,
      `api started (pid ${third})`,
    ]);
    await supervisor.stop([['api']]);
    expect(runs.map((run) => run.stopped)).toEqual([false, false, true]);
  });

  it('keeps trying when a restart fails', async () => {
    const lines: string[] = [];
    const events: string[] = [];
    const supervisor = createSupervisor({ log: (line) => lines.push(line), policy: fast });
    const first = new FakeProcess(events);
    let attempts = 0;
    let last: FakeProcess | undefined;
    supervisor.watch('postgres', first, async () => {
      attempts++;
      if (attempts < 3) throw new Error(`port 54329 is in use\nmore detail`);
      last = new FakeProcess(events);
      return last;
    });

    first.crash();
    await until('a successful restart', () => last !== undefined && lines.length === 5);
    expect(lines.slice(1)).toEqual([
      `postgres (pid ${first.pid}) exited unexpectedly (code 1); restarting in 10 ms`,
      'postgres did not start (port 54329 is in use); retrying in 20 ms',
      'postgres did not start (port 54329 is in use); retrying in 40 ms',
      `postgres started (pid ${last?.pid})`,
    ]);
    await supervisor.stop([]);
  });

  it('stops in order, restarts nothing while stopping, and stops a restart that was in flight', async () => {
    const events: string[] = [];
    const supervisor = createSupervisor({ log: () => {}, policy: fast });
    const api = new FakeProcess(events);
    const temporal = new FakeProcess(events);
    const postgres = new FakeProcess(events);
    let restartedApi: FakeProcess | undefined;
    let finishRestart: (() => void) | undefined;
    supervisor.watch('api', api, async () => {
      await new Promise<void>((resolve) => {
        finishRestart = resolve;
      });
      restartedApi = new FakeProcess(events);
      return restartedApi;
    });
    supervisor.watch('temporal', temporal, async () => {
      throw new Error('restarted while stopping');
    });
    supervisor.watch('postgres', postgres, async () => {
      throw new Error('restarted while stopping');
    });

    api.crash();
    await until('a restart in flight', () => finishRestart !== undefined);
    const stopping = supervisor.stop([['api'], ['temporal'], ['postgres']]);
    temporal.crash();
    expect(supervisor.stopping).toBe(true);
    finishRestart?.();
    await stopping;

    expect(events).toEqual([`stop ${restartedApi?.pid}`, `stop ${postgres.pid}`]);
  });
});
