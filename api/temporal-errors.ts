import { Connection, isGrpcServiceError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { AppError, isErrorCode } from '../lib/errors.js';

// Kept until api/checkout-saga.ts and api/order-lifecycle.ts import it from lib/within.js.
export { within } from '../lib/within.js';

/** Temporal cannot be reached right now: 503, and a hint to retry in a second. */
function unavailableError(cause: unknown): AppError {
  return new AppError(
    'service_unavailable',
    'the workflow service is temporarily unavailable; retry shortly',
    {
      cause,
      headers: { 'Retry-After': '1' },
    },
  );
}

/** Maps a Temporal client error to the contract: a rejected update to its code, an outage to 503. */
export function contractError(error: unknown): unknown {
  if (error instanceof WorkflowUpdateFailedError) {
    const cause = error.cause;
    if (cause instanceof ApplicationFailure && isErrorCode(cause.type)) {
      return new AppError(cause.type, cause.message, { cause: error });
    }
  }
  if (isGrpcServiceError(error) && unavailable.has(error.code)) return unavailableError(error);
  return error;
}
/** gRPC UNAVAILABLE and DEADLINE_EXCEEDED: Temporal cannot be reached right now. */
const unavailable = new Set<number>([14, 4]);

/** How long the API waits to learn whether Temporal answers at all before it calls it. */
const REACHABLE_WITHIN_MS = 1_000;

/** Tells, fast, whether the workflow service answers at all. */
export interface TemporalProbe {
  /** Resolves when the service answered a trivial call in time; 503 `service_unavailable` otherwise. */
  check(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A probe on its own connection without the SDK's retry interceptor: a refused connection is
 * known at once and no retry is left pending. Calls to an unreachable server otherwise wait out
 * the SDK's retries (many seconds); the client's own connection reconnects by itself, so the
 * first request after the server returns goes through.
 */
export function createTemporalProbe(address: string): TemporalProbe {
  const connection = Connection.lazy({ address, interceptors: [], connectTimeout: REACHABLE_WITHIN_MS });
  return {
    async check() {
      try {
        await connection.withDeadline(Date.now() + REACHABLE_WITHIN_MS, () =>
          connection.workflowService.getSystemInfo({}),
        );
      } catch (error) {
        throw unavailableError(error);
      }
    },
    close: () => connection.close(),
  };
}
