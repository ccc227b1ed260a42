import { isGrpcServiceError, WorkflowUpdateFailedError } from '@temporalio/client';
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
      },
    );
  }
  return error;
}
/** gRPC UNAVAILABLE and DEADLINE_EXCEEDED: Temporal cannot be reached right now. */
const unavailable = new Set<number>([14, 4]);
