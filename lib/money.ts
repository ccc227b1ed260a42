export const DEFAULT_CURRENCY = 'USD';

/** The largest price of a product in minor units: what the API accepts and the database's check allows. */
export const MAX_PRICE_CENTS = 100_000_000_000;

/**
 * The decimal form of an amount in minor units, for the compatibility fields
 * (`price`, `subtotal`, `total_amount`). Always derived from cents, never parsed back.
 * Dividing an integer below 2^53 by 100 yields the closest double to the decimal,
 * which JSON prints with at most two fraction digits.
 */
export function centsToDecimal(cents: number): number {
  return cents / 100;
}

/** A line's unit price and subtotal as the contract writes them: cents, each with its decimal mirror. */
export function lineAmountsJson(line: { priceCents: number; subtotalCents: number }): {
  price_cents: number;
  price: number;
  subtotal_cents: number;
  subtotal: number;
} {
  return {
    price_cents: line.priceCents,
    price: centsToDecimal(line.priceCents),
    subtotal_cents: line.subtotalCents,
    subtotal: centsToDecimal(line.subtotalCents),
  };
}

export interface PricedLine {
  priceCents: number;
  quantity: number;
}

/** Subtotal of one line in minor units. Throws if the product leaves the safe integer range. */
export function lineSubtotalCents(line: PricedLine): number {
  const subtotal = line.priceCents * line.quantity;
  if (!Number.isSafeInteger(subtotal)) throw new RangeError('line subtotal exceeds the safe integer range');
  return subtotal;
}

/** The one place totals are computed: the sum of line subtotals, in minor units. */
export function totalCents(lines: readonly PricedLine[]): number {
  let total = 0;
  for (const line of lines) total += lineSubtotalCents(line);
  if (!Number.isSafeInteger(total)) throw new RangeError('total exceeds the safe integer range');
  return total;
}
