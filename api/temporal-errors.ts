import { type Client, isGrpcServiceError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { AppError, isErrorCode } from '../lib/errors.js';

/** A promise that resolves to `undefined` after `ms`, and never keeps the process alive. */
function expiry(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), ms).unref());
}

/** Waits for `promise` at most `ms`; a late rejection is swallowed (the caller has moved on). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  promise.catch(() => {});
  return Promise.race([promise, expiry(ms)]);
}

/** Maps a Temporal client error to the contract: a rejected update to its code, an outage to 503. */
export function contractError(error: unknown): unknown {
  if (error instanceof WorkflowUpdateFailedError) {
    const cause = error.cause;
    if (cause instanceof ApplicationFailure && isErrorCode(cause.type)) {
      return new AppError(cause.type, cause.message, { cause: error });
    }
  }
  if (isGrpcServiceError(error) && unavailable.has(error.code)) {
    return new AppError(
      'service_unavailable',
      'the workflow service is temporarily unavailable; retry shortly',
      {
        cause: error,
        headers: { 'Retry-After': '1' },
      },
    );
  }
  return error;
}
/** gRPC UNAVAILABLE and DEADLINE_EXCEEDED: Temporal cannot be reached right now. */
const unavailable = new Set<number>([14, 4]);

/** How long the API waits to learn whether Temporal answers at all before it calls it. */
const REACHABLE_WITHIN_MS = 1_500;

/**
 * Fails fast with 503 when the workflow service does not answer a trivial call in time. Without
 * it a call to an unreachable server waits out the SDK's own retries; the connection reconnects by
 * itself, so the first request after the server returns goes through.
 */
export async function ensureTemporalReachable(client: Client): Promise<void> {
  try {
    await client.connection.withDeadline(Date.now() + REACHABLE_WITHIN_MS, () =>
      client.workflowService.getSystemInfo({}),
    );
  } catch (error) {
    throw new AppError(
      'service_unavailable',
      'the workflow service is temporarily unavailable; retry shortly',
      {
        cause: error,
        headers: { 'Retry-After': '1' },
      },
    );
  }
}
