import type { DeclineReason } from '../../lib/checkout.js';

/**
 * The port a payment provider adapter (the built-in mock, Stripe, Adyen) implements.
 *
 * Every call carries an idempotency key, and the provider answers a repeated key with its first
 * answer: that contract is what lets a caller retry after a timeout without charging twice.
 * Business refusals are return values; only a transient failure (network error, timeout, 5xx)
 * throws, as ProviderUnavailableError, and is retried with the same key.
 */
export interface PaymentProvider {
  /** Stored on each payment (`payments.provider`). */
  readonly name: string;
  authorize(request: AuthorizeRequest): Promise<AuthorizeOutcome>;
  /** Resolves a payment that required customer confirmation (3-D Secure) with what the provider reported. */
  confirm(request: ConfirmRequest): Promise<AuthorizeOutcome>;
  capture(request: CaptureRequest): Promise<ProviderResult>;
  void(request: VoidRequest): Promise<ProviderResult>;
  refund(request: RefundRequest): Promise<ProviderResult>;
}

export interface AuthorizeRequest {
  idempotencyKey: string;
  amountCents: number;
  currency: string;
  /** The client's payment token (`tok_visa`), never card data. */
  paymentMethod: string;
  description: string;
}

export interface ConfirmRequest {
  idempotencyKey: string;
  /** The reference the provider gave the authorization. */
  authorization: string;
  approved: boolean;
  /** Why the customer's confirmation failed, when `approved` is false. */
  reason?: DeclineReason | undefined;
}

export interface CaptureRequest {
  idempotencyKey: string;
  authorization: string;
  amountCents: number;
  currency: string;
}

export interface VoidRequest {
  idempotencyKey: string;
  authorization: string;
}

export interface RefundRequest {
  idempotencyKey: string;
  authorization: string;
  amountCents: number;
  currency: string;
}

export type AuthorizeOutcome =
  | { outcome: 'approved'; reference: string }
  | { outcome: 'requires_confirmation'; reference: string }
  | { outcome: 'declined'; reference: string; reason: DeclineReason };

export type ProviderResult =
  | { outcome: 'succeeded'; reference: string }
  | { outcome: 'declined'; reference: string; reason: DeclineReason };

const PROVIDER_ERROR_CODES = ['PROVIDER_UNAVAILABLE', 'PROVIDER_TIMEOUT'] as const;
/** UNAVAILABLE: the request did not reach the provider. TIMEOUT: it may have been processed, the answer was lost. */
export type ProviderErrorCode = (typeof PROVIDER_ERROR_CODES)[number];

/**
 * A transient provider failure: the outcome of the call is unknown, so the caller retries with
 * the same idempotency key and learns it then. Never a business refusal.
 */
export class ProviderUnavailableError extends Error {
  override readonly name = 'ProviderUnavailableError';
  readonly code: ProviderErrorCode;

  constructor(code: ProviderErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** Recognises a ProviderUnavailableError by shape, so copies of this module in other bundles still match. */
export function isProviderUnavailable(error: unknown): error is ProviderUnavailableError {
  return (
    error instanceof Error &&
    error.name === 'ProviderUnavailableError' &&
    (PROVIDER_ERROR_CODES as readonly unknown[]).includes((error as { code?: unknown }).code)
  );
}
