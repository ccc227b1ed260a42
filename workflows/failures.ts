import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { type CheckoutFailure, isDeclineReason } from '../lib/checkout.js';
import { type ErrorCode, isErrorCode } from '../lib/errors.js';
import type { PaymentConfirmation } from './checkout.contract.js';

/**
 * The failure a checkout records for an error that ended its saga: a business rejection keeps
 * its contract code (the ApplicationFailure `type` an activity or the workflow gave it) and
 * the provider's reason; anything else is an internal error, its details left to the history.
 */
export function checkoutFailureOf(error: unknown): CheckoutFailure {
  const failure = error instanceof ActivityFailure ? error.cause : error;
  if (failure instanceof ApplicationFailure && isErrorCode(failure.type)) {
    const [details] = (failure.details ?? []) as Array<{ reason?: unknown } | undefined>;
    return {
      code: failure.type,
      reason: typeof details?.reason === 'string' ? details.reason : null,
      message: failure.message,
    };
  }
  return { code: 'internal_error', reason: null, message: 'the checkout could not be completed' };
}

/** Rejects an update before it enters history; only an ApplicationFailure does that. */
export function rejectUpdate(code: ErrorCode, message: string): never {
  throw ApplicationFailure.nonRetryable(message, code);
}

/** Why a `paymentConfirmed` payload is malformed, or undefined when it is well formed. */
export function confirmationProblem(confirmation: PaymentConfirmation): string | undefined {
  if (typeof confirmation !== 'object' || confirmation === null) return 'the input must be an object';
  if (confirmation.approved !== undefined && typeof confirmation.approved !== 'boolean') {
    return '"approved" must be true or false';
  }
  if (confirmation.reason !== undefined && !isDeclineReason(confirmation.reason)) {
    return `"reason" must be one of NO_FUNDS, CARD_DECLINED, CARD_EXPIRED, INVALID_CCV, NETWORK_ERROR, UNKNOWN`;
  }
  return undefined;
}

/** "12:05 UTC" for people reading the Web UI. */
export function utcTime(iso: string): string {
  return `${iso.slice(11, 16)} UTC`;
}
