import { createHash } from 'node:crypto';
import { and, asc, eq, inArray, lt, ne, sql } from 'drizzle-orm';
import { v5 as uuidv5 } from 'uuid';
import type { Db, Tx } from '../../db/client.js';
import { PG, pgErrorCode } from '../../db/client.js';
import { checkouts } from '../../db/schema.js';
import type { CommerceMetrics } from '../../infra/metrics.js';
import {
  ACTIVE_CHECKOUT_STATUSES,
  type CheckoutFailure,
  type CheckoutLine,
  type CheckoutRecord,
  type CheckoutStatus,
  type FinalCheckoutStatus,
  isFinalStatus,
  type ShippingAddress,
  statusRank,
} from '../../lib/checkout.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import { DEFAULT_CURRENCY, lineSubtotalCents, totalCents } from '../../lib/money.js';
import { cartCurrency } from '../cart/cart.model.js';
import type { CartService } from '../cart/cart.service.js';
import type { CatalogService } from '../catalog/catalog.service.js';

/** Namespace of checkout ids: UUIDv5 of "<user>:<idempotency key>" under it. */
const CHECKOUT_ID_NAMESPACE = 'b3c4a1f2-6d1e-4c55-9a0e-53a8f2d1c7e4';

/** First key of the two-key advisory lock that serialises the opening of one user's checkouts. */
const USER_CHECKOUT_LOCK = 0x43484b;

/**
 * The checkout id of a user's idempotency key: the same key always names the same checkout, so
 * the id (and the workflow id built from it) is known before anything runs, on every retry.
 */
export function checkoutIdFor(userId: number, idempotencyKey: string): string {
  return uuidv5(`${userId}:${idempotencyKey}`, CHECKOUT_ID_NAMESPACE);
}

/** What binds an idempotency key to its request: the payment token and the shipping address. */
export interface CheckoutRequest {
  paymentToken: string | undefined;
  shippingAddress: ShippingAddress | undefined;
}

/** A stable digest of the request, so a key reused with another body can be told apart. */
export function requestHash(request: CheckoutRequest): string {
  const address = request.shippingAddress;
  const canonical = JSON.stringify([
    request.paymentToken ?? null,
    address
      ? [
          address.name,
          address.line1,
          address.line2 ?? null,
          address.city,
          address.postalCode,
          address.country,
        ]
      : null,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

export interface OpenCheckoutInput {
  checkoutId: string;
  userId: number;
  idempotencyKey: string;
  requestHash: string;
  shippingAddress: ShippingAddress | null;
}

/** What checkout would buy right now: counted and priced from Postgres, for the API's pre-checks. */
export interface CheckoutPreview {
  itemCount: number;
  totalCents: number;
  currency: string;
  /** Another checkout of this user that is still running, if any. */
  activeCheckoutId: string | null;
}

type CheckoutRow = typeof checkouts.$inferSelect;

function toRecord(row: CheckoutRow): CheckoutRecord {
  return {
    id: row.id,
    userId: row.userId,
    status: row.status,
    lines: row.lines,
    totalCents: row.totalCents,
    currency: row.currency,
    shippingAddress: row.shippingAddress ?? null,
    orderId: row.orderId,
    reservationExpiresAt: row.reservationExpiresAt?.toISOString() ?? null,
    failure: row.failureCode
      ? { code: row.failureCode, reason: row.failureReason, message: row.failureMessage ?? '' }
      : null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

const ACTIVE = [...ACTIVE_CHECKOUT_STATUSES];

/** Statuses a checkout may be in for `status` to replace it: earlier active ones. */
function predecessorsOf(status: CheckoutStatus): CheckoutStatus[] {
  return ACTIVE.filter((candidate) => statusRank(candidate) < statusRank(status));
}

export type CheckoutService = ReturnType<typeof createCheckoutService>;

/**
 * Checkouts: the durable record of each checkout saga. The saga writes it at every step, only
 * ever forward (a late retry can never move a checkout back), and a final status is never replaced.
 */
export function createCheckoutService({
  db,
  cart,
  catalog,
  clock,
  metrics,
}: {
  db: Db;
  cart: CartService;
  catalog: CatalogService;
  clock: Clock;
  /** Counts each checkout once when it ends (checkouts_total, checkout_duration_seconds). */
  metrics?: CommerceMetrics | undefined;
}) {
  async function find(checkoutId: string, executor: Db | Tx = db): Promise<CheckoutRecord | undefined> {
    const [row] = await executor.select().from(checkouts).where(eq(checkouts.id, checkoutId));
    return row ? toRecord(row) : undefined;
  }

  async function mustFind(checkoutId: string): Promise<CheckoutRecord> {
    const record = await find(checkoutId);
    if (!record) throw new AppError('not_found', `checkout ${checkoutId} not found`);
    return record;
  }

  /** Prices the user's cart from Postgres; a failure when it cannot be bought as it is. */
  async function priceCart(userId: number): Promise<{
    lines: CheckoutLine[];
    itemCount: number;
    currency: string;
    failure: CheckoutFailure | null;
  }> {
    const snapshot = await cart.snapshot(userId);
    const itemCount = snapshot.lines.reduce((sum, line) => sum + line.quantity, 0);
    if (snapshot.lines.length === 0) {
      return {
        lines: [],
        itemCount,
        currency: DEFAULT_CURRENCY,
        failure: failure('cart_empty', 'the cart is empty'),
      };
    }
    const products = await catalog.getMany(snapshot.lines.map((line) => line.productId));
    const currencies = [
      ...new Set(snapshot.lines.flatMap((line) => products.get(line.productId)?.currency ?? [])),
    ];
    // Priced in the cart's currency only: a line in another one is left out, never added to the total.
    const currency = cartCurrency(currencies);
    const lines: CheckoutLine[] = [];
    const unavailable: number[] = [];
    for (const line of snapshot.lines) {
      const product = products.get(line.productId);
      if (!product || product.deletedAt !== null) {
        unavailable.push(line.productId);
        continue;
      }
      if (product.currency !== currency) continue;
      lines.push({
        productId: line.productId,
        productName: product.name,
        quantity: line.quantity,
        priceCents: product.priceCents,
        subtotalCents: lineSubtotalCents({ priceCents: product.priceCents, quantity: line.quantity }),
        cartLineVersion: line.version,
      });
    }
    if (unavailable.length > 0) {
      const message = `products no longer available: ${unavailable.join(', ')}; remove them from the cart`;
      return { lines, itemCount, currency, failure: failure('product_unavailable', message) };
    }
    if (currencies.length > 1) {
      const message = `the cart mixes currencies (${currencies.join(', ')}); one checkout pays in one currency`;
      return { lines, itemCount, currency, failure: failure('currency_mismatch', message) };
    }
    return { lines, itemCount, currency, failure: null };
  }

  async function transition(
    checkoutId: string,
    from: CheckoutStatus[],
    changes: Partial<typeof checkouts.$inferInsert>,
  ): Promise<CheckoutRecord> {
    const [row] = await db
      .update(checkouts)
      .set({ ...changes, updatedAt: clock.now() })
      .where(and(eq(checkouts.id, checkoutId), inArray(checkouts.status, from)))
      .returning();
    if (!row) return mustFind(checkoutId);
    const record = toRecord(row);
    if (isFinalStatus(record.status)) ended(record);
    return record;
  }

  /** Counts a checkout that just ended, once: only the call that moved it there gets here. */
  function ended(record: CheckoutRecord): void {
    const seconds = (Date.parse(record.updatedAt) - Date.parse(record.createdAt)) / 1000;
    metrics?.checkoutEnded(record.status, record.failure?.code ?? null, seconds);
  }

  return {
    find,

    /**
     * The checkout an idempotency key names, if it is recorded; `idempotency_key_reused` when the
     * key was first used with another request (payment token, shipping address).
     */
    async findForRequest(checkoutId: string, hash: string): Promise<CheckoutRecord | undefined> {
      const [row] = await db.select().from(checkouts).where(eq(checkouts.id, checkoutId));
      if (!row) return undefined;
      if (row.requestHash !== hash) {
        throw new AppError(
          'idempotency_key_reused',
          'this idempotency key was already used for a different request; use a new key',
          { extra: { checkout_id: row.id } },
        );
      }
      return toRecord(row);
    },

    /** A user's checkout; another user's is reported as not found. */
    async getForUser(userId: number, checkoutId: string): Promise<CheckoutRecord> {
      const record = await find(checkoutId);
      if (!record || record.userId !== userId)
        throw new AppError('not_found', `checkout ${checkoutId} not found`);
      return record;
    },

    /** Counts and prices what checkout would buy now, and names a checkout of this user still running. */
    async preview(userId: number, checkoutId: string): Promise<CheckoutPreview> {
      const [priced, [active]] = await Promise.all([
        priceCart(userId),
        db
          .select({ id: checkouts.id })
          .from(checkouts)
          .where(
            and(
              eq(checkouts.userId, userId),
              inArray(checkouts.status, ACTIVE),
              ne(checkouts.id, checkoutId),
            ),
          ),
      ]);
      return {
        itemCount: priced.itemCount,
        totalCents: totalCents(priced.lines),
        currency: priced.currency,
        activeCheckoutId: active?.id ?? null,
      };
    },

    /**
     * The saga's first step: snapshots and prices the cart from Postgres (never the cache) and
     * records the checkout, INITIATED, or FAILED when the cart cannot be bought (empty, a deleted
     * product, mixed currencies, another checkout of the user running). Idempotent per checkout id:
     * a repeat returns the record made first. Nothing undoes it; a failed saga marks it FAILED.
     */
    async open(input: OpenCheckoutInput): Promise<CheckoutRecord> {
      const existing = await find(input.checkoutId);
      if (existing) return existing;
      const priced = await priceCart(input.userId);
      const now = clock.now();
      try {
        return await db.transaction(async (tx) => {
          await tx.execute(
            sql`select pg_advisory_xact_lock(${sql.raw(String(USER_CHECKOUT_LOCK))}, hashtext(${String(input.userId)}))`,
          );
          const again = await find(input.checkoutId, tx);
          if (again) return again;
          const [active] = await tx
            .select({ id: checkouts.id })
            .from(checkouts)
            .where(and(eq(checkouts.userId, input.userId), inArray(checkouts.status, ACTIVE)));
          const refusal = active
            ? failure('checkout_in_progress', `checkout ${active.id} of this cart is still in progress`)
            : priced.failure;
          const [row] = await tx
            .insert(checkouts)
            .values({
              id: input.checkoutId,
              userId: input.userId,
              idempotencyKey: input.idempotencyKey,
              requestHash: input.requestHash,
              status: refusal ? 'FAILED' : 'INITIATED',
              lines: priced.lines,
              totalCents: totalCents(priced.lines),
              currency: priced.currency,
              shippingAddress: input.shippingAddress,
              failureCode: refusal?.code ?? null,
              failureReason: null,
              failureMessage: refusal?.message ?? null,
              createdAt: now,
              updatedAt: now,
            })
            .returning();
          if (!row) throw new Error('checkout insert returned no row');
          const record = toRecord(row);
          if (isFinalStatus(record.status)) ended(record);
          return record;
        });
      } catch (error) {
        // The one-active-checkout index caught a race the lock should have prevented: retry the step.
        if (pgErrorCode(error) === PG.uniqueViolation) {
          const record = await find(input.checkoutId);
          if (record) return record;
        }
        throw error;
      }
    },

    /** Moves an active checkout forward to `status` (never back). Idempotent; returns the stored record. */
    async advance(
      checkoutId: string,
      status: 'INVENTORY_RESERVED' | 'PAYMENT_PENDING' | 'PAYMENT_COMPLETED',
      details: { reservationExpiresAt?: Date } = {},
    ): Promise<CheckoutRecord> {
      return transition(checkoutId, predecessorsOf(status), { status, ...details });
    },

    /** Records the order a checkout created. Idempotent. */
    async attachOrder(checkoutId: string, orderId: string): Promise<CheckoutRecord> {
      return transition(checkoutId, ACTIVE, { orderId });
    },

    /** Ends a checkout as COMPLETED. Idempotent; a checkout already ended keeps its outcome. */
    async complete(checkoutId: string): Promise<CheckoutRecord> {
      return transition(checkoutId, ACTIVE, { status: 'COMPLETED' });
    },

    /** Ends a checkout as FAILED or CANCELLED with the failure. Idempotent; an ended checkout keeps its outcome. */
    async fail(
      checkoutId: string,
      status: Exclude<FinalCheckoutStatus, 'COMPLETED'>,
      reason: CheckoutFailure,
    ): Promise<CheckoutRecord> {
      return transition(checkoutId, ACTIVE, {
        status,
        failureCode: reason.code,
        failureReason: reason.reason,
        failureMessage: reason.message,
      });
    },

    /** Active checkouts not written for `idleMs`, oldest first: candidates whose saga may be gone. */
    async listIdle(idleMs: number, limit = 100): Promise<CheckoutRecord[]> {
      const cutoff = new Date(clock.now().getTime() - idleMs);
      const rows = await db
        .select()
        .from(checkouts)
        .where(and(inArray(checkouts.status, ACTIVE), lt(checkouts.updatedAt, cutoff)))
        .orderBy(asc(checkouts.updatedAt))
        .limit(limit);
      return rows.map(toRecord);
    },
  };
}

function failure(code: string, message: string): CheckoutFailure {
  return { code, reason: null, message };
}
