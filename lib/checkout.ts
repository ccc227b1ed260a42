import { centsToDecimal, lineAmountsJson } from './money.js';

/**
 * The checkout as one pure model shared by the checkout service (which stores it), the saga
 * (which holds it in memory and answers `getStatus` with it) and the API (which returns it).
 * The contract's JSON shape is built here, once, because the saga's query must return exactly
 * what `GET /api/v1/checkout/{id}` returns. No I/O: workflows import it.
 */

export const CHECKOUT_STATUSES = [
  'INITIATED',
  'INVENTORY_RESERVED',
  'PAYMENT_PENDING',
  'PAYMENT_COMPLETED',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
] as const;
export type CheckoutStatus = (typeof CHECKOUT_STATUSES)[number];

/** A user has at most one checkout in these statuses at a time. */
export const ACTIVE_CHECKOUT_STATUSES = [
  'INITIATED',
  'INVENTORY_RESERVED',
  'PAYMENT_PENDING',
  'PAYMENT_COMPLETED',
] as const satisfies readonly CheckoutStatus[];

export const FINAL_CHECKOUT_STATUSES = ['COMPLETED', 'FAILED', 'CANCELLED'] as const;
export type FinalCheckoutStatus = (typeof FINAL_CHECKOUT_STATUSES)[number];

export function isFinalStatus(status: CheckoutStatus): status is FinalCheckoutStatus {
  return (FINAL_CHECKOUT_STATUSES as readonly string[]).includes(status);
}

/** Order of the forward path; a status is only ever replaced by a later one. */
export function statusRank(status: CheckoutStatus): number {
  return isFinalStatus(status) ? CHECKOUT_STATUSES.indexOf('COMPLETED') : CHECKOUT_STATUSES.indexOf(status);
}

/** Reasons a payment provider gives for refusing a payment (the contract's `reason`). */
export const DECLINE_REASONS = [
  'NO_FUNDS',
  'CARD_DECLINED',
  'CARD_EXPIRED',
  'INVALID_CCV',
  'NETWORK_ERROR',
  'UNKNOWN',
] as const;
export type DeclineReason = (typeof DECLINE_REASONS)[number];

export function isDeclineReason(value: unknown): value is DeclineReason {
  return typeof value === 'string' && (DECLINE_REASONS as readonly string[]).includes(value);
}

export interface ShippingAddress {
  name: string;
  line1: string;
  line2?: string | undefined;
  city: string;
  postalCode: string;
  country: string;
}

/** A shipping address as the contract shows it (checkouts and orders). */
export interface ShippingAddressJson {
  name: string;
  line1: string;
  line2: string | null;
  city: string;
  postal_code: string;
  country: string;
}

/** A shipping address as the contract shows it, or null. */
export function shippingAddressJson(address: ShippingAddress | null | undefined): ShippingAddressJson | null {
  return address
    ? {
        name: address.name,
        line1: address.line1,
        line2: address.line2 ?? null,
        city: address.city,
        postal_code: address.postalCode,
        country: address.country,
      }
    : null;
}

/** One priced line of the snapshot: what the checkout buys, at the price it was offered. */
export interface CheckoutLine {
  productId: number;
  productName: string;
  quantity: number;
  priceCents: number;
  subtotalCents: number;
  /** The cart version that last wrote this line: identifies exactly which cart line was bought. */
  cartLineVersion: number;
}

export interface CheckoutFailure {
  /** A contract error code (`insufficient_stock`, `payment_declined`, ...). */
  code: string;
  /** The provider's refusal reason for `payment_declined`, else null. */
  reason: string | null;
  message: string;
}

/** A checkout as stored and as held by its saga. Times are ISO strings so it crosses Temporal unchanged. */
export interface CheckoutRecord {
  id: string;
  userId: number;
  status: CheckoutStatus;
  lines: CheckoutLine[];
  totalCents: number;
  currency: string;
  shippingAddress: ShippingAddress | null;
  orderId: string | null;
  reservationExpiresAt: string | null;
  failure: CheckoutFailure | null;
  createdAt: string;
  updatedAt: string;
}

/** The contract's `Checkout` object. */
export interface CheckoutJson {
  checkout_id: string;
  status: CheckoutStatus;
  items: Array<{
    product_id: number;
    product_name: string;
    quantity: number;
    price_cents: number;
    price: number;
    subtotal_cents: number;
    subtotal: number;
  }>;
  total_cents: number;
  total_amount: number;
  currency: string;
  shipping_address: ShippingAddressJson | null;
  order_id: string | null;
  reservation_expires_at: string | null;
  failure: { code: string; reason: string | null; message: string } | null;
  created_at: string;
  updated_at: string;
}

export function checkoutJson(record: CheckoutRecord): CheckoutJson {
  return {
    checkout_id: record.id,
    status: record.status,
    items: record.lines.map((line) => ({
      product_id: line.productId,
      product_name: line.productName,
      quantity: line.quantity,
      ...lineAmountsJson(line),
    })),
    total_cents: record.totalCents,
    total_amount: centsToDecimal(record.totalCents),
    currency: record.currency,
    shipping_address: shippingAddressJson(record.shippingAddress),
    order_id: record.orderId,
    reservation_expires_at: record.reservationExpiresAt,
    failure: record.failure
      ? { code: record.failure.code, reason: record.failure.reason, message: record.failure.message }
      : null,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
  };
}

/** "1,349.97 USD": an amount for people (Web UI summaries, log lines), never for parsing. */
export function formatAmount(cents: number, currency: string): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  const units = Math.floor(abs / 100)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}${units}.${String(abs % 100).padStart(2, '0')} ${currency}`;
}

/** The Web UI's one-line description of a checkout or an order: "Checkout of 3 items, 1,349.97 USD for user 42". */
export function purchaseSummary(
  what: 'Checkout' | 'Order',
  input: { userId: number; itemCount: number; totalCents: number; currency: string },
): string {
  const items = `${input.itemCount} ${input.itemCount === 1 ? 'item' : 'items'}`;
  return `${what} of ${items}, ${formatAmount(input.totalCents, input.currency)} for user ${input.userId}`;
}

export const checkoutSummary = (input: Parameters<typeof purchaseSummary>[1]) =>
  purchaseSummary('Checkout', input);
