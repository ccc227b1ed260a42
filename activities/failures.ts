import { ApplicationFailure } from '@temporalio/common';
import { isAppError } from '../lib/errors.js';

/**
 * Maps a business rejection (AppError) to a non-retryable ApplicationFailure whose `type` is
 * the contract's error code, so workflows branch on the type; anything else propagates and
 * Temporal retries it as an infrastructure failure. Rejections are an expected outcome, so they
 * are BENIGN: logged at debug level, not counted as activity failures in the SDK's metrics.
 */
export function toActivityFailure(error: unknown): unknown {
  if (!isAppError(error)) return error;
  return ApplicationFailure.create({
    message: error.message,
    type: error.code,
    nonRetryable: true,
    category: 'BENIGN',
    details: error.extra === undefined ? [] : [error.extra],
    cause: error,
  });
}

/** Wraps every function of an activity object with toActivityFailure. */
export function withBusinessFailures<T extends Record<string, (...args: never[]) => Promise<unknown>>>(
  activities: T,
): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (error) {
        throw toActivityFailure(error);
      }
    };
  }
  return wrapped as T;
}
