import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../db/client.js';
import {
  type PaymentOperationKind,
  type PaymentOperationOutcome,
  type PaymentStatus,
  paymentOperations,
  payments,
} from '../../db/schema.js';
import { newId } from '../../infra/ids.js';
import type { CommerceMetrics } from '../../infra/metrics.js';
import { type DeclineReason, isDeclineReason } from '../../lib/checkout.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import { assertUserId, uuidKey } from '../../lib/id-checks.js';
import type { AuthorizeOutcome, PaymentProvider, ProviderResult } from './payment-provider.js';

/** A checkout's payment, as the saga, the order and the API see it. */
export interface Payment {
  id: string;
  checkoutId: string;
  userId: number;
  amountCents: number;
  currency: string;
  paymentMethod: string;
  /** The provider that holds it (`mock`). */
  provider: string;
  /** The provider's id of the authorization, once it answered. */
  providerReference: string | null;
  status: PaymentStatus;
  declineReason: DeclineReason | null;
  capturedCents: number;
  refundedCents: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface AuthorizePaymentInput {
  checkoutId: string;
  userId: number;
  amountCents: number;
  currency: string;
  /** The client's payment token; absent means `tok_visa`, as in the contract. */
  paymentMethod?: string | undefined;
}

const DEFAULT_PAYMENT_METHOD = 'tok_visa';

export type PaymentStep = 'authorize' | 'confirm' | 'capture' | 'void' | 'refund';

/**
 * The idempotency key of a provider call: the checkout plus the step, never an attempt number,
 * so every retry of a step, from any process, is the same request to the provider.
 */
export function paymentIdempotencyKey(checkoutId: string, step: PaymentStep): string {
  return `${checkoutId}:${step}`;
}

const STEP_OF_KIND: Record<PaymentOperationKind, PaymentStep> = {
  AUTHORIZE: 'authorize',
  CAPTURE: 'capture',
  VOID: 'void',
  REFUND: 'refund',
};

/** How each authorization answer is recorded: the AUTHORIZE operation's outcome and the payment's status. */
const AUTHORIZE_ANSWERS = {
  approved: ['SUCCEEDED', 'AUTHORIZED'],
  requires_confirmation: ['REQUIRES_CONFIRMATION', 'REQUIRES_CONFIRMATION'],
  declined: ['DECLINED', 'DECLINED'],
} as const satisfies Record<AuthorizeOutcome['outcome'], readonly [PaymentOperationOutcome, PaymentStatus]>;

type PaymentRow = typeof payments.$inferSelect;
type OperationRow = typeof paymentOperations.$inferSelect;

/** An operation the provider has answered for good; its key would only return the same answer. */
const isFinal = (operation: OperationRow | undefined): operation is OperationRow =>
  operation !== undefined && operation.outcome !== 'IN_FLIGHT';
/** An operation that has or may have happened at the provider. */
const isLive = (operation: OperationRow | undefined): boolean =>
  operation?.outcome === 'IN_FLIGHT' || operation?.outcome === 'SUCCEEDED';

const MAX_PAYMENT_METHOD_LENGTH = 255;
const MAX_AMOUNT_CENTS = 100_000_000_000;
const MAX_ERROR_LENGTH = 1000;

const checkoutKey = (checkoutId: string) => uuidKey(checkoutId, 'checkout id');

function validateAuthorization(input: AuthorizePaymentInput): Required<AuthorizePaymentInput> {
  const checkoutId = checkoutKey(input.checkoutId);
  assertUserId(input.userId);
  if (
    !Number.isSafeInteger(input.amountCents) ||
    input.amountCents < 0 ||
    input.amountCents > MAX_AMOUNT_CENTS
  ) {
    throw new AppError(
      'invalid_argument',
      `amount must be an integer number of cents in 0..${MAX_AMOUNT_CENTS}`,
    );
  }
  if (typeof input.currency !== 'string' || !/^[A-Z]{3}$/.test(input.currency)) {
    throw new AppError('invalid_argument', 'currency must be an ISO 4217 code');
  }
  const paymentMethod = input.paymentMethod ?? DEFAULT_PAYMENT_METHOD;
  if (
    typeof paymentMethod !== 'string' ||
    paymentMethod.trim() === '' ||
    paymentMethod.length > MAX_PAYMENT_METHOD_LENGTH
  ) {
    throw new AppError(
      'invalid_argument',
      `payment method must be 1..${MAX_PAYMENT_METHOD_LENGTH} characters`,
    );
  }
  return {
    checkoutId,
    userId: input.userId,
    amountCents: input.amountCents,
    currency: input.currency,
    paymentMethod,
  };
}

function toPayment(row: PaymentRow): Payment {
  return {
    id: row.id,
    checkoutId: row.checkoutId,
    userId: row.userId,
    amountCents: row.amountCents,
    currency: row.currency,
    paymentMethod: row.paymentMethod,
    provider: row.provider,
    providerReference: row.providerReference,
    status: row.status,
    declineReason:
      row.declineReason === null ? null : isDeclineReason(row.declineReason) ? row.declineReason : 'UNKNOWN',
    capturedCents: row.capturedCents,
    refundedCents: row.refundedCents,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function errorText(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return (typeof code === 'string' ? `${code}: ${message}` : message).slice(0, MAX_ERROR_LENGTH);
}

function declined(payment: PaymentRow, step: string, reason: DeclineReason): AppError {
  return new AppError(
    'payment_declined',
    `the payment provider refused to ${step} the payment of checkout ${payment.checkoutId}`,
    {
      extra: { reason },
    },
  );
}

function declineReasonOf(operation: OperationRow): DeclineReason {
  return isDeclineReason(operation.declineReason) ? operation.declineReason : 'UNKNOWN';
}

export interface PaymentsServiceDeps {
  db: Db;
  provider: PaymentProvider;
  clock: Clock;
  /** Counts each provider answer once (payment_operations_total); none when absent. */
  metrics?: CommerceMetrics | undefined;
}

/** What the first transaction of a verb decided: return the payment as it is, or call the provider. */
type Claim = { done: PaymentRow } | { call: PaymentRow; operation: OperationRow };

export type PaymentsService = ReturnType<typeof createPaymentsService>;

/**
 * Payments of checkouts through one provider. Every provider call is recorded first in
 * `payment_operations` (one row per payment and kind, under a key derived from the checkout) and
 * made outside any transaction; each status change is one UPDATE guarded by the expected status,
 * so retried, late or concurrent calls never move a payment backwards or apply a step twice.
 */
export function createPaymentsService({ db, provider, clock, metrics }: PaymentsServiceDeps) {
  const now = () => clock.now();

  /** Locks the payment of a checkout until the transaction ends: verbs of one payment claim their step in turn. */
  async function lockPayment(tx: Tx, checkoutId: string): Promise<PaymentRow | undefined> {
    const [row] = await tx.select().from(payments).where(eq(payments.checkoutId, checkoutId)).for('update');
    return row;
  }

  async function lockPaymentById(tx: Tx, paymentId: string): Promise<PaymentRow> {
    const [row] = await tx.select().from(payments).where(eq(payments.id, paymentId)).for('update');
    if (!row) throw new Error(`payment ${paymentId} vanished`);
    return row;
  }

  async function operationsOf(tx: Tx, paymentId: string): Promise<Map<PaymentOperationKind, OperationRow>> {
    const rows = await tx.select().from(paymentOperations).where(eq(paymentOperations.paymentId, paymentId));
    return new Map(rows.map((row) => [row.kind, row]));
  }

  /** Records one more call under the operation's key, creating its row on the first. */
  async function startOperation(
    tx: Tx,
    payment: PaymentRow,
    kind: PaymentOperationKind,
    amountCents: number,
  ): Promise<OperationRow> {
    const [row] = await tx
      .insert(paymentOperations)
      .values({
        id: newId(),
        paymentId: payment.id,
        kind,
        idempotencyKey: paymentIdempotencyKey(payment.checkoutId, STEP_OF_KIND[kind]),
        amountCents,
        outcome: 'IN_FLIGHT',
        attempts: 1,
        createdAt: now(),
        updatedAt: now(),
      })
      .onConflictDoUpdate({
        target: [paymentOperations.paymentId, paymentOperations.kind],
        set: { attempts: sql`${paymentOperations.attempts} + 1`, updatedAt: now() },
      })
      .returning();
    if (!row) throw new Error(`no ${kind} operation row for payment ${payment.id}`);
    return row;
  }

  /** Notes a failed call on its operation, then rethrows it: transient failures are retried by the caller. */
  async function failOperation(operation: OperationRow, error: unknown): Promise<never> {
    metrics?.payment(operation.kind.toLowerCase(), 'unavailable');
    try {
      await db
        .update(paymentOperations)
        .set({ lastError: errorText(error), updatedAt: now() })
        .where(
          and(
            eq(paymentOperations.id, operation.id),
            inArray(paymentOperations.outcome, ['IN_FLIGHT', 'REQUIRES_CONFIRMATION']),
          ),
        );
    } catch {
      // The provider's failure is what the caller must see and retry; the note is best effort.
    }
    throw error;
  }

  /** Calls the provider under a claimed operation, noting the failure on the operation if it throws. */
  async function callProvider<T>(operation: OperationRow, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      return failOperation(operation, error);
    }
  }

  /**
   * Records the provider's final answer on an operation (first answer wins) and, in the same
   * transaction, applies the matching transition if the payment is still in one of `from`.
   */
  async function settle(
    operation: OperationRow,
    answer: {
      outcome: Exclude<PaymentOperationOutcome, 'IN_FLIGHT'>;
      reference: string;
      reason?: DeclineReason;
    },
    transition?: { from: PaymentStatus[]; set: Partial<PaymentRow> },
    awaiting: 'IN_FLIGHT' | 'REQUIRES_CONFIRMATION' = 'IN_FLIGHT',
  ): Promise<PaymentRow> {
    return db.transaction(async (tx) => {
      // The payment first, as in every transaction here: lock order payment, then operation.
      const locked = await lockPaymentById(tx, operation.paymentId);
      const recorded = await tx
        .update(paymentOperations)
        .set({
          outcome: answer.outcome,
          providerReference: answer.reference,
          declineReason: answer.reason ?? null,
          updatedAt: now(),
        })
        .where(and(eq(paymentOperations.id, operation.id), eq(paymentOperations.outcome, awaiting)))
        .returning({ id: paymentOperations.id });
      // Counted when first recorded, not when a retry finds the answer already there.
      if (recorded.length > 0) metrics?.payment(operation.kind.toLowerCase(), answer.outcome.toLowerCase());
      if (transition) {
        const [moved] = await tx
          .update(payments)
          .set({ ...transition.set, updatedAt: now() })
          .where(and(eq(payments.id, operation.paymentId), inArray(payments.status, transition.from)))
          .returning();
        if (moved) return moved;
      }
      return locked;
    });
  }

  function authorizationOf(payment: PaymentRow): string {
    if (payment.providerReference === null) {
      throw new Error(`payment ${payment.id} is ${payment.status} without a provider reference`);
    }
    return payment.providerReference;
  }

  /** Runs the second half of capture, void and refund: call, then record the answer and the transition. */
  async function finish(
    claim: Claim,
    step: 'capture' | 'void' | 'refund',
    call: (payment: PaymentRow, key: string) => Promise<ProviderResult>,
    transition: (payment: PaymentRow) => { from: PaymentStatus[]; set: Partial<PaymentRow> },
  ): Promise<Payment> {
    if ('done' in claim) return toPayment(claim.done);
    const { call: payment, operation } = claim;
    const result = await callProvider(operation, () => call(payment, operation.idempotencyKey));
    if (result.outcome === 'declined') {
      await settle(operation, { outcome: 'DECLINED', reference: result.reference, reason: result.reason });
      throw declined(payment, step, result.reason);
    }
    return toPayment(
      await settle(operation, { outcome: 'SUCCEEDED', reference: result.reference }, transition(payment)),
    );
  }

  return {
    /** The payment of a checkout, or undefined when it never tried to pay. */
    async get(checkoutId: string): Promise<Payment | undefined> {
      const [row] = await db
        .select()
        .from(payments)
        .where(eq(payments.checkoutId, checkoutKey(checkoutId)));
      return row ? toPayment(row) : undefined;
    },

    /** A payment by its own id, or undefined. */
    async getById(paymentId: string): Promise<Payment | undefined> {
      const [row] = await db
        .select()
        .from(payments)
        .where(eq(payments.id, uuidKey(paymentId, 'payment id')));
      return row ? toPayment(row) : undefined;
    },

    /**
     * Authorizes the checkout's amount: AUTHORIZED, REQUIRES_CONFIRMATION (3-D Secure) or DECLINED
     * (a refusal is a result, not an error). Idempotent per checkout, also concurrently; `conflict`
     * for other terms. A provider outage throws for the caller to retry. Undone by `void`.
     */
    async authorize(input: AuthorizePaymentInput): Promise<Payment> {
      const terms = validateAuthorization(input);
      const claim = await db.transaction(async (tx): Promise<Claim> => {
        await tx
          .insert(payments)
          .values({
            id: newId(),
            ...terms,
            provider: provider.name,
            status: 'NEW',
            createdAt: now(),
            updatedAt: now(),
          })
          .onConflictDoNothing({ target: payments.checkoutId });
        const payment = await lockPayment(tx, terms.checkoutId);
        if (!payment) throw new Error(`payment of checkout ${terms.checkoutId} vanished`);
        if (
          payment.userId !== terms.userId ||
          payment.amountCents !== terms.amountCents ||
          payment.currency !== terms.currency ||
          payment.paymentMethod !== terms.paymentMethod
        ) {
          throw new AppError(
            'conflict',
            `checkout ${terms.checkoutId} already has a payment of ${payment.amountCents} ${payment.currency} with other terms`,
          );
        }
        const existing = (await operationsOf(tx, payment.id)).get('AUTHORIZE');
        if (isFinal(existing) || payment.status !== 'NEW') return { done: payment };
        return {
          call: payment,
          operation: await startOperation(tx, payment, 'AUTHORIZE', payment.amountCents),
        };
      });
      if ('done' in claim) return toPayment(claim.done);

      const { call: payment, operation } = claim;
      const result = await callProvider(operation, () =>
        provider.authorize({
          idempotencyKey: operation.idempotencyKey,
          amountCents: payment.amountCents,
          currency: payment.currency,
          paymentMethod: payment.paymentMethod,
          description: `Checkout ${payment.checkoutId}`,
        }),
      );
      const [outcome, status] = AUTHORIZE_ANSWERS[result.outcome];
      const reason = result.outcome === 'declined' ? result.reason : undefined;
      return toPayment(
        await settle(
          operation,
          { outcome, reference: result.reference, reason },
          {
            from: ['NEW'],
            set: { status, providerReference: result.reference, declineReason: reason ?? null },
          },
        ),
      );
    },

    /**
     * Resolves a payment awaiting 3-D Secure with what the provider reported: AUTHORIZED or
     * DECLINED. Idempotent: any other status is returned as is, so duplicate or late
     * confirmations are harmless. `not_found` without a payment. Undone by `void`.
     */
    async confirm(
      checkoutId: string,
      confirmation: { approved: boolean; reason?: DeclineReason | undefined },
    ): Promise<Payment> {
      const key = checkoutKey(checkoutId);
      const [payment] = await db.select().from(payments).where(eq(payments.checkoutId, key));
      if (!payment) throw new AppError('not_found', `checkout ${key} has no payment`);
      if (payment.status !== 'REQUIRES_CONFIRMATION') return toPayment(payment);
      const [operation] = await db
        .select()
        .from(paymentOperations)
        .where(and(eq(paymentOperations.paymentId, payment.id), eq(paymentOperations.kind, 'AUTHORIZE')));
      if (!operation) throw new Error(`payment ${payment.id} awaits confirmation without an authorization`);

      // The confirmation is a call of its own under its own key; its answer completes the AUTHORIZE operation.
      const result = await callProvider(operation, () =>
        provider.confirm({
          idempotencyKey: paymentIdempotencyKey(key, 'confirm'),
          authorization: authorizationOf(payment),
          approved: confirmation.approved,
          reason: confirmation.reason,
        }),
      );
      if (result.outcome === 'requires_confirmation') return toPayment(payment);
      const approved = result.outcome === 'approved';
      return toPayment(
        await settle(
          operation,
          approved
            ? { outcome: 'SUCCEEDED', reference: result.reference }
            : { outcome: 'DECLINED', reference: result.reference, reason: result.reason },
          {
            from: ['REQUIRES_CONFIRMATION'],
            set: approved ? { status: 'AUTHORIZED' } : { status: 'DECLINED', declineReason: result.reason },
          },
          'REQUIRES_CONFIRMATION',
        ),
      );
    },

    /**
     * Captures the authorized amount: AUTHORIZED becomes CAPTURED. Idempotent: CAPTURED and
     * REFUNDED are returned as is. `conflict` in any other status (also before authorize),
     * `payment_declined` when the provider refuses. Undone by `refund`.
     */
    async capture(checkoutId: string): Promise<Payment> {
      const key = checkoutKey(checkoutId);
      const claim = await db.transaction(async (tx): Promise<Claim> => {
        const payment = await lockPayment(tx, key);
        if (!payment) throw new AppError('conflict', `checkout ${key} has no authorized payment to capture`);
        if (payment.status === 'CAPTURED' || payment.status === 'REFUNDED') return { done: payment };
        const operations = await operationsOf(tx, payment.id);
        const capture = operations.get('CAPTURE');
        if (capture?.outcome === 'DECLINED') throw declined(payment, 'capture', declineReasonOf(capture));
        if (payment.status !== 'AUTHORIZED' || isLive(operations.get('VOID'))) {
          throw new AppError(
            'conflict',
            `the payment of checkout ${key} is ${payment.status}, not capturable`,
          );
        }
        return {
          call: payment,
          operation: await startOperation(tx, payment, 'CAPTURE', payment.amountCents),
        };
      });
      return finish(
        claim,
        'capture',
        (payment, idempotencyKey) =>
          provider.capture({
            idempotencyKey,
            authorization: authorizationOf(payment),
            amountCents: payment.amountCents,
            currency: payment.currency,
          }),
        (payment) => ({
          from: ['AUTHORIZED'],
          set: { status: 'CAPTURED', capturedCents: payment.amountCents },
        }),
      );
    },

    /**
     * Releases an uncaptured authorization: AUTHORIZED or REQUIRES_CONFIRMATION becomes VOIDED.
     * Idempotent and harmless without one (no payment, DECLINED, VOIDED, CAPTURED, REFUNDED are
     * returned as is). NEW is left alone: the provider has given no authorization to void yet, and
     * a retried authorize may still record one, which a later void then releases. `conflict` while
     * a capture is in flight (its outcome decides between capture and refund).
     */
    async void(checkoutId: string): Promise<Payment | undefined> {
      const key = checkoutKey(checkoutId);
      const claim = await db.transaction(async (tx): Promise<Claim | undefined> => {
        const payment = await lockPayment(tx, key);
        if (!payment) return undefined;
        if (payment.status !== 'AUTHORIZED' && payment.status !== 'REQUIRES_CONFIRMATION') {
          return { done: payment };
        }
        const operations = await operationsOf(tx, payment.id);
        if (isLive(operations.get('CAPTURE'))) {
          throw new AppError(
            'conflict',
            `a capture of the payment of checkout ${key} is in flight; it cannot be voided`,
          );
        }
        const voided = operations.get('VOID');
        if (voided?.outcome === 'DECLINED') throw declined(payment, 'void', declineReasonOf(voided));
        return { call: payment, operation: await startOperation(tx, payment, 'VOID', payment.amountCents) };
      });
      if (!claim) return undefined;
      return finish(
        claim,
        'void',
        (payment, idempotencyKey) =>
          provider.void({ idempotencyKey, authorization: authorizationOf(payment) }),
        () => ({ from: ['AUTHORIZED', 'REQUIRES_CONFIRMATION'], set: { status: 'VOIDED' } }),
      );
    },

    /**
     * Refunds everything captured (full refunds only): CAPTURED becomes REFUNDED. Idempotent and
     * harmless otherwise: no payment, or any other status, is returned as is. Final: nothing undoes it.
     */
    async refund(checkoutId: string): Promise<Payment | undefined> {
      const key = checkoutKey(checkoutId);
      const claim = await db.transaction(async (tx): Promise<Claim | undefined> => {
        const payment = await lockPayment(tx, key);
        if (!payment) return undefined;
        if (payment.status !== 'CAPTURED') return { done: payment };
        const refund = (await operationsOf(tx, payment.id)).get('REFUND');
        if (refund?.outcome === 'DECLINED') throw declined(payment, 'refund', declineReasonOf(refund));
        return {
          call: payment,
          operation: await startOperation(tx, payment, 'REFUND', payment.capturedCents),
        };
      });
      if (!claim) return undefined;
      return finish(
        claim,
        'refund',
        (payment, idempotencyKey) =>
          provider.refund({
            idempotencyKey,
            authorization: authorizationOf(payment),
            amountCents: payment.capturedCents,
            currency: payment.currency,
          }),
        (payment) => ({
          from: ['CAPTURED'],
          set: { status: 'REFUNDED', refundedCents: payment.capturedCents },
        }),
      );
    },
  };
}
