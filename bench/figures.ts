/** What one load run measured: what `bench/load.ts` prints as its last line, and `bench/run.ts` reads. */
export interface Figures {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU of the answering process per request, in microseconds (HTTP scenarios; added by run.ts). */
  serverCpuUs?: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Milliseconds from `t0` to now: what a closed loop's step reports for the part it times. */
export const since = (t0: number) => performance.now() - t0;

/**
 * Runs `once` in `concurrency` loops for `seconds`; each call returns the milliseconds it timed,
 * or false (a throw counts as false): the figures of a closed loop of that many clients.
 */
export async function closedLoop(
  seconds: number,
  concurrency: number,
  once: (slot: number) => Promise<number | false>,
): Promise<Figures> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, slot) => {
      while (performance.now() < deadline) {
        const ms = await once(slot).catch(() => false as const);
        if (ms === false) errors += 1;
        else latencies.push(ms);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    seconds: elapsed,
    rps: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors,
  };
}
