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
