import { setTimeout as sleep } from 'node:timers/promises';
import { describeExit, type ExitStatus, type Log } from './process.js';

/** One run of a supervised process. */
export interface Incarnation {
  pid: number;
  /** Resolves when it has exited, whatever the reason. */
  exited: Promise<ExitStatus>;
  /** Asks it to stop (draining what it does) and waits until it has. */
  stop(): Promise<void>;
}

export interface RestartPolicy {
  /** Delay before the first restart after a crash. */
  initialDelayMs: number;
  /** The delay doubles with each crash up to this cap. */
  maxDelayMs: number;
  /** A process that stayed up this long starts again from `initialDelayMs` when it next crashes. */
  resetAfterMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  resetAfterMs: 60_000,
};

/**
 * The wait before restarting a process that ran for `upForMs` and was last restarted after
 * `previousDelayMs` (undefined: it never crashed before).
 */
export function nextRestartDelay(
  previousDelayMs: number | undefined,
  upForMs: number,
  policy: RestartPolicy,
): number {
  if (previousDelayMs === undefined || upForMs >= policy.resetAfterMs) return policy.initialDelayMs;
  return Math.min(previousDelayMs * 2, policy.maxDelayMs);
}

export interface Supervisor {
  /**
   * Keeps `name` running from its already started `first` incarnation: whenever it exits without
   * being asked to, logs why and calls `restart` after a backoff, until `stop` is called.
   */
  watch(name: string, first: Incarnation, restart: () => Promise<Incarnation>): void;
  /** True once `stop` has been called: nothing is restarted any more. */
  readonly stopping: boolean;
  /**
   * Stops restarting anything, then stops the watched processes one group after the other, the
   * processes of a group in parallel. A restart in flight finishes first and is then stopped.
   * Processes not named in `order` are stopped last.
   */
  stop(order: string[][]): Promise<void>;
}

interface Unit {
  current: Incarnation | undefined;
  /** A restart in flight; settles once `current` is updated. */
  starting: Promise<unknown> | undefined;
}

export function createSupervisor({
  log,
  policy = DEFAULT_RESTART_POLICY,
  now = Date.now,
}: {
  log: Log;
  policy?: RestartPolicy;
  now?: () => number;
}): Supervisor {
  const units = new Map<string, Unit>();
  const stopped = new AbortController();

  /** Waits `ms`; false when the supervisor started stopping meanwhile. */
  const pause = (ms: number) => sleep(ms, true, { signal: stopped.signal }).catch(() => false as const);

  async function keepRunning(name: string, unit: Unit, restart: () => Promise<Incarnation>): Promise<void> {
    let delay: number | undefined;
    let running = unit.current;
    while (running) {
      const startedAt = now();
      const status = await running.exited;
      if (stopped.signal.aborted) return;
      delay = nextRestartDelay(delay, now() - startedAt, policy);
      log(
        `${name} (pid ${running.pid}) exited unexpectedly (${describeExit(status)}); restarting in ${seconds(delay)}`,
      );
      for (;;) {
        if (!(await pause(delay))) return;
        try {
          const starting = restart().then((incarnation) => {
            unit.current = incarnation;
            return incarnation;
          });
          unit.starting = starting;
          running = await starting;
          break;
        } catch (error) {
          if (stopped.signal.aborted) return;
          delay = nextRestartDelay(delay, 0, policy);
          log(`${name} did not start (${firstLine(error)}); retrying in ${seconds(delay)}`);
        } finally {
          unit.starting = undefined;
        }
      }
      if (stopped.signal.aborted) return;
      log(`${name} started (pid ${running.pid})`);
    }
  }

  async function stopUnit(unit: Unit): Promise<void> {
    await unit.starting?.catch(() => {});
    await unit.current?.stop();
  }

  return {
    watch(name, first, restart) {
      if (stopped.signal.aborted) {
        void first.stop();
        return;
      }
      const unit: Unit = { current: first, starting: undefined };
      units.set(name, unit);
      log(`${name} started (pid ${first.pid})`);
      keepRunning(name, unit, restart).catch((error: unknown) =>
        log(`supervision of ${name} failed: ${String(error)}`),
      );
    },
    get stopping() {
      return stopped.signal.aborted;
    },
    async stop(order) {
      stopped.abort();
      const named = new Set(order.flat());
      const rest = [...units.keys()].filter((name) => !named.has(name));
      for (const group of [...order, rest]) {
        await Promise.all(
          group.map(async (name) => {
            const unit = units.get(name);
            if (!unit) return;
            await stopUnit(unit).catch((error: unknown) => log(`could not stop ${name}: ${String(error)}`));
          }),
        );
      }
    },
  };
}

function seconds(ms: number): string {
  return ms < 1_000 ? `${ms} ms` : `${Number((ms / 1000).toFixed(1))} s`;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
