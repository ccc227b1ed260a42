import { isAppError } from '../../lib/errors.js';
import { isProviderUnavailable, type ProviderErrorCode } from '../../services/payments/payment-provider.js';

/** The code and extra members of the AppError `promise` rejects with; fails on anything else. */
export async function rejection(
  promise: Promise<unknown>,
): Promise<{ code: string; extra?: Record<string, unknown> }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isAppError(error)) throw new Error(`expected an AppError, got ${String(error)}`, { cause: error });
  return { code: error.code, extra: error.extra };
}

/**
 * Calls until the payment provider answers, up to five times as Temporal would retry, collecting
 * the codes of the transient failures on the way.
 */
export async function untilAnswered<T>(
  call: () => Promise<T>,
): Promise<{ answer: T; failures: ProviderErrorCode[] }> {
  const failures: ProviderErrorCode[] = [];
  for (let attempt = 1; attempt <= 5; attempt++) {
    try {
      return { answer: await call(), failures };
    } catch (error) {
      if (!isProviderUnavailable(error)) throw error;
      failures.push(error.code);
    }
  }
  throw new Error(`no answer after 5 attempts: ${failures.join(', ')}`);
}
