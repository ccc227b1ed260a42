import { AppError } from '../../lib/errors.js';
import { DEFAULT_CURRENCY, lineSubtotalCents, totalCents } from '../../lib/money.js';
import type { Product } from '../catalog/catalog.service.js';

export const MAX_QUANTITY = 99;
export const MAX_DISTINCT_LINES = 50;

/** A cart line as stored: what the user chose, not what it costs. */
export interface CartLineRecord {
  productId: number;
  quantity: number;
  addedAt: Date;
  /** The cart version that last wrote this line. */
  version: number;
}

/** A cart as stored in Postgres (and mirrored in the cache). `id` null: the user has no cart. */
export interface CartRecord {
  id: string | null;
  userId: number;
  /** 0 when the user has no cart. */
  version: number;
  lines: CartLineRecord[];
  createdAt: Date | null;
  updatedAt: Date | null;
}

/** One line of a cart priced from the current catalog. */
export interface CartLine {
  productId: number;
  productName: string;
  quantity: number;
  addedAt: Date;
  /** The product's current price, in the product's currency. */
  priceCents: number;
  subtotalCents: number;
  /**
   * False when the product was deleted after it was added, or is now priced in a currency other
   * than the cart's: checkout refuses the cart until the line is removed.
   */
  purchasable: boolean;
}

/** A cart as the user sees it: priced from the current catalog, lines oldest first. */
export interface Cart {
  /** Null while the user has no cart. */
  id: string | null;
  userId: number;
  lines: CartLine[];
  /** Sum of the quantities. */
  totalItems: number;
  /** Sum of the subtotals of the lines in `currency`. */
  totalCents: number;
  currency: string;
  /** The current time while the user has no cart. */
  createdAt: Date;
  updatedAt: Date;
}

export function emptyCartRecord(userId: number): CartRecord {
  return { id: null, userId, version: 0, lines: [], createdAt: null, updatedAt: null };
}

/** Lines in the order users see them: oldest first, ties by product id. */
export function sortLines<T extends { addedAt: Date; productId: number }>(lines: readonly T[]): T[] {
  return [...lines].sort((a, b) => a.addedAt.getTime() - b.addedAt.getTime() || a.productId - b.productId);
}

/** What pricing a cart line needs of its product. */
export type LinePrice = Pick<Product, 'name' | 'priceCents' | 'currency' | 'deletedAt'>;

/**
 * The currency a cart is priced and paid in: its oldest line's product's (lines in the order users
 * see them), USD for an empty cart. Lines priced in another currency are never added into its totals.
 */
export function cartCurrency(lineCurrencies: readonly string[]): string {
  return lineCurrencies[0] ?? DEFAULT_CURRENCY;
}

/**
 * Prices a stored cart with the current catalog. Products are never hard-deleted (cart lines
 * reference them), so a missing product means the catalog read and the cart disagree: a bug.
 * Totals are in the cart's currency and leave out lines priced in another one.
 */
export function buildCart(record: CartRecord, products: ReadonlyMap<number, LinePrice>, now: Date): Cart {
  const priced = sortLines(record.lines).map((line) => {
    const product = products.get(line.productId);
    if (!product) throw new Error(`cart line references unknown product ${line.productId}`);
    return { line, product };
  });
  const currency = cartCurrency(priced.map(({ product }) => product.currency));
  const lines = priced.map(
    ({ line, product }): CartLine => ({
      productId: line.productId,
      productName: product.name,
      quantity: line.quantity,
      addedAt: line.addedAt,
      priceCents: product.priceCents,
      subtotalCents: lineSubtotalCents({ priceCents: product.priceCents, quantity: line.quantity }),
      purchasable: product.deletedAt === null && product.currency === currency,
    }),
  );
  return {
    id: record.id,
    userId: record.userId,
    lines,
    totalItems: lines.reduce((sum, line) => sum + line.quantity, 0),
    totalCents: totalCents(
      priced
        .filter(({ product }) => product.currency === currency)
        .map(({ line, product }) => ({ priceCents: product.priceCents, quantity: line.quantity })),
    ),
    currency,
    createdAt: record.createdAt ?? now,
    updatedAt: record.updatedAt ?? now,
  };
}

export function assertQuantity(quantity: number): void {
  if (!Number.isSafeInteger(quantity) || quantity < 1 || quantity > MAX_QUANTITY) {
    throw new AppError('invalid_quantity', `quantity must be between 1 and ${MAX_QUANTITY}`);
  }
}
