/**
 * The closed set of error codes of the public contract, each with its HTTP status
 * and a short human title. Domain code throws AppError with one of these codes;
 * each edge (HTTP, Temporal activities) maps it exactly once.
 */
export const ERROR_CODES = {
  invalid_request: { status: 400, title: 'Invalid request' },
  invalid_argument: { status: 400, title: 'Invalid argument' },
  invalid_product_id: { status: 400, title: 'Invalid product id' },
  invalid_quantity: { status: 400, title: 'Invalid quantity' },
  missing_idempotency_key: { status: 400, title: 'Missing idempotency key' },
  unauthenticated: { status: 401, title: 'Unauthenticated' },
  payment_declined: { status: 402, title: 'Payment declined' },
  forbidden: { status: 403, title: 'Forbidden' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflict' },
  checkout_in_progress: { status: 409, title: 'Checkout in progress' },
  insufficient_stock: { status: 409, title: 'Insufficient stock' },
  product_unavailable: { status: 409, title: 'Product unavailable' },
  reservation_expired: { status: 409, title: 'Reservation expired' },
  checkout_cancelled: { status: 409, title: 'Checkout cancelled' },
  checkout_not_cancellable: { status: 409, title: 'Checkout not cancellable' },
  order_not_cancellable: { status: 409, title: 'Order not cancellable' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  cart_full: { status: 422, title: 'Cart full' },
  cart_empty: { status: 422, title: 'Cart empty' },
  currency_mismatch: { status: 422, title: 'Currency mismatch' },
  idempotency_key_reused: { status: 422, title: 'Idempotency key reused' },
  rate_limited: { status: 429, title: 'Too many requests' },
  internal_error: { status: 500, title: 'Internal error' },
  service_unavailable: { status: 503, title: 'Service unavailable' },
  timeout: { status: 503, title: 'Timeout' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface FieldError {
  field: string;
  message: string;
}

export interface AppErrorOptions {
  /** Validation failures, one per offending field. */
  errors?: FieldError[];
  /** Extra members for the problem document (snake_case, public). */
  extra?: Record<string, unknown>;
  /** Response headers the answer carries (`Retry-After`, `RateLimit-*`). */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: ErrorCode;
  readonly errors: FieldError[] | undefined;
  readonly extra: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.errors = options.errors;
    this.extra = options.extra;
    this.headers = options.headers;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** Recognises an AppError by shape, so copies of this module in other bundles still match. */
export function isAppError(error: unknown): error is AppError {
  return (
    error instanceof Error && error.name === 'AppError' && isErrorCode((error as { code?: unknown }).code)
  );
}

/**
 * The first error along `error`'s cause chain (the error, its `cause`, that one's `cause`, …,
 * `depth` links at most) that `match` takes: drivers, ORMs and SDKs wrap the error that says
 * what went wrong.
 */
export function findCause<T>(
  error: unknown,
  match: (candidate: unknown) => candidate is T,
  depth = 4,
): T | undefined {
  let current = error;
  for (let link = 0; current && link < depth; link++) {
    if (match(current)) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The first string `code` along `error`'s cause chain that `accept` takes (SQLSTATEs, errno names). */
export function findErrorCode(error: unknown, accept: (code: string) => boolean): string | undefined {
  const coded = (candidate: unknown): candidate is { code: string } => {
    const code = (candidate as { code?: unknown }).code;
    return typeof code === 'string' && accept(code);
  };
  return findCause(error, coded)?.code;
}
