import { createHash } from 'node:crypto';
import { and, asc, eq, ne, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.js';
import { mockProviderRequests } from '../../db/schema.js';
import { newId } from '../../infra/ids.js';
import { DECLINE_REASONS, type DeclineReason, isDeclineReason } from '../../lib/checkout.js';
import {
  type AuthorizeOutcome,
  type PaymentProvider,
  type ProviderResult,
  ProviderUnavailableError,
} from './payment-provider.js';

const MOCK_PROVIDER_NAME = 'mock';

/** The contract's test tokens that the mock refuses, and the reason each gives. */
export const DECLINING_TOKENS: ReadonlyMap<string, DeclineReason> = new Map([
  ['tok_chargeDeclined', 'CARD_DECLINED'],
  ['tok_insufficientFunds', 'NO_FUNDS'],
  ['tok_expiredCard', 'CARD_EXPIRED'],
  ['tok_incorrectCvc', 'INVALID_CCV'],
]);
/** Every operation on it: the 1st call fails, the 2nd is processed but its answer is lost, later calls answer. */
const PROCESSING_ERROR_TOKEN = 'tok_processingError';
/** Authorization waits for the customer's confirmation (`confirm`). */
const THREE_D_SECURE_TOKEN = 'tok_threeDSecure';

type MockOperation = 'authorize' | 'confirm' | 'capture' | 'void' | 'refund';

/** What the mock decided for a request, as kept in its books. */
export type MockDecision =
  | { outcome: 'approved' | 'requires_confirmation' | 'succeeded' }
  | { outcome: 'declined'; reason: DeclineReason };

/** Stored while a tok_processingError request has failed once and not yet been processed. */
const UNAVAILABLE = 'unavailable';

const REFERENCE_PREFIX: Record<Exclude<MockOperation, 'confirm'>, string> = {
  authorize: 'mock_auth_',
  capture: 'mock_cap_',
  void: 'mock_void_',
  refund: 'mock_refund_',
};

/** Maps an idempotency key to a number in [0, 1): the same number every time, spread evenly over keys. */
export function keyDraw(idempotencyKey: string): number {
  return createHash('sha256').update(idempotencyKey).digest().readUIntBE(0, 6) / 2 ** 48;
}

/**
 * The mock's answer to a first authorization, given the draw of its idempotency key. A draw
 * below `failureRate` refuses an otherwise approved payment; where it falls inside that band
 * picks the reason, so one draw decides both and a retry sees the same answer.
 */
export function mockAuthorizeDecision(
  paymentMethod: string,
  draw: number,
  failureRate: number,
): MockDecision {
  const reason = DECLINING_TOKENS.get(paymentMethod);
  if (reason) return { outcome: 'declined', reason };
  if (paymentMethod === THREE_D_SECURE_TOKEN) return { outcome: 'requires_confirmation' };
  if (draw < failureRate) {
    const index = Math.min(
      DECLINE_REASONS.length - 1,
      Math.floor((draw / failureRate) * DECLINE_REASONS.length),
    );
    return { outcome: 'declined', reason: DECLINE_REASONS[index] ?? 'UNKNOWN' };
  }
  return { outcome: 'approved' };
}

type RequestRow = typeof mockProviderRequests.$inferSelect;

interface MockRequest {
  idempotencyKey: string;
  operation: MockOperation;
  reference: string;
  paymentMethod: string | null;
  amountCents: number;
  currency: string;
}

function storedReason(row: RequestRow): DeclineReason {
  return isDeclineReason(row.declineReason) ? row.declineReason : 'UNKNOWN';
}

function toAuthorizeOutcome(row: RequestRow): AuthorizeOutcome {
  switch (row.outcome) {
    case 'approved':
    case 'requires_confirmation':
      return { outcome: row.outcome, reference: row.reference };
    case 'declined':
      return { outcome: 'declined', reference: row.reference, reason: storedReason(row) };
    default:
      throw new Error(
        `mock provider: request ${row.idempotencyKey} has no authorization outcome (${row.outcome})`,
      );
  }
}

function toProviderResult(row: RequestRow): ProviderResult {
  switch (row.outcome) {
    case 'succeeded':
      return { outcome: 'succeeded', reference: row.reference };
    case 'declined':
      return { outcome: 'declined', reference: row.reference, reason: storedReason(row) };
    default:
      throw new Error(`mock provider: request ${row.idempotencyKey} has no result (${row.outcome})`);
  }
}

function decisionColumns(decision: MockDecision | { outcome: typeof UNAVAILABLE }) {
  return { outcome: decision.outcome, declineReason: 'reason' in decision ? decision.reason : null };
}

/**
 * Records the first call for a key, or counts a repeat and returns what the first recorded;
 * concurrent first calls leave one row. A key reused for another request is a caller bug.
 */
async function upsertRequest(
  executor: DbOrTx,
  request: MockRequest,
  decision: MockDecision | { outcome: typeof UNAVAILABLE },
): Promise<RequestRow> {
  const [row] = await executor
    .insert(mockProviderRequests)
    .values({ ...request, ...decisionColumns(decision) })
    .onConflictDoUpdate({
      target: mockProviderRequests.idempotencyKey,
      set: { attempts: sql`${mockProviderRequests.attempts} + 1`, updatedAt: sql`now()` },
    })
    .returning();
  if (!row) throw new Error('mock provider: upsert returned no row');
  if (
    row.operation !== request.operation ||
    row.amountCents !== request.amountCents ||
    row.currency !== request.currency
  ) {
    throw new Error(
      `mock provider: idempotency key ${request.idempotencyKey} was first used for another request (${row.operation} of ${row.amountCents} ${row.currency})`,
    );
  }
  return row;
}

/**
 * An authorization the mock answered, by the reference it gave; `lock` serialises confirmations.
 * An unknown reference is a bug of the caller, not a business outcome.
 */
async function authorizationRow(executor: DbOrTx, reference: string, lock = false): Promise<RequestRow> {
  const query = executor
    .select()
    .from(mockProviderRequests)
    .where(
      and(
        eq(mockProviderRequests.reference, reference),
        eq(mockProviderRequests.operation, 'authorize'),
        ne(mockProviderRequests.outcome, UNAVAILABLE),
      ),
    );
  const [row] = lock ? await query.for('update') : await query;
  if (!row) throw new Error(`mock provider: unknown authorization ${reference}`);
  return row;
}

/** Where an authorization stands now: a 3-D Secure one takes the outcome of its first confirmation. */
async function authorizationState(executor: DbOrTx, authorization: RequestRow): Promise<MockDecision> {
  let row = authorization;
  if (authorization.outcome === 'requires_confirmation') {
    const [confirmation] = await executor
      .select()
      .from(mockProviderRequests)
      .where(
        and(
          eq(mockProviderRequests.reference, authorization.reference),
          eq(mockProviderRequests.operation, 'confirm'),
        ),
      )
      .orderBy(asc(mockProviderRequests.createdAt))
      .limit(1);
    row = confirmation ?? authorization;
  }
  if (row.outcome === 'declined') return { outcome: 'declined', reason: storedReason(row) };
  if (row.outcome === 'approved' || row.outcome === 'requires_confirmation') return { outcome: row.outcome };
  throw new Error(`mock provider: authorization ${authorization.reference} is in state ${row.outcome}`);
}

export interface MockProviderOptions {
  db: Db;
  /** Share of otherwise approved authorizations refused with a drawn reason (PAYMENT_FAILURE_RATE), 0..1. */
  failureRate: number;
  /** Maps an idempotency key to [0, 1) for the failure draw; must be deterministic. Default: keyDraw. */
  random?: (idempotencyKey: string) => number;
}

/**
 * The built-in provider behind the contract's test tokens. It keeps its own books in
 * `mock_provider_requests`, one row per idempotency key, standing in for the provider's servers:
 * a repeated key gets the first answer, so tests can count what the "bank" actually did.
 */
export function createMockProvider({
  db,
  failureRate,
  random = keyDraw,
}: MockProviderOptions): PaymentProvider {
  if (!Number.isFinite(failureRate) || failureRate < 0 || failureRate > 1) {
    throw new RangeError(`failureRate must be in 0..1, got ${failureRate}`);
  }

  /**
   * Answers a request, simulating tok_processingError when `flaky`: the first call fails before
   * anything happens, the second is processed but its answer is lost, later calls get the answer.
   */
  async function answer(
    request: MockRequest,
    flaky: boolean,
    decide: () => Promise<MockDecision> | MockDecision,
  ): Promise<RequestRow> {
    if (!request.idempotencyKey) throw new Error('mock provider: an idempotency key is required');
    if (!flaky) return upsertRequest(db, request, await decide());

    const row = await upsertRequest(db, request, { outcome: UNAVAILABLE });
    if (row.outcome !== UNAVAILABLE) return row;
    if (row.attempts === 1) {
      throw new ProviderUnavailableError(
        'PROVIDER_UNAVAILABLE',
        `mock provider: connection reset before ${request.operation} was processed`,
      );
    }
    const [processed] = await db
      .update(mockProviderRequests)
      .set({ ...decisionColumns(await decide()), updatedAt: sql`now()` })
      .where(
        and(
          eq(mockProviderRequests.idempotencyKey, request.idempotencyKey),
          eq(mockProviderRequests.outcome, UNAVAILABLE),
        ),
      )
      .returning({ idempotencyKey: mockProviderRequests.idempotencyKey });
    if (processed) {
      throw new ProviderUnavailableError(
        'PROVIDER_TIMEOUT',
        `mock provider: ${request.operation} was processed but the answer timed out`,
      );
    }
    // A concurrent call processed it first.
    const [stored] = await db
      .select()
      .from(mockProviderRequests)
      .where(eq(mockProviderRequests.idempotencyKey, request.idempotencyKey));
    if (!stored) throw new Error(`mock provider: request ${request.idempotencyKey} vanished`);
    return stored;
  }

  /** Capture, void and refund act on an authorization the mock approved, for at most its amount. */
  async function followUp(
    operation: 'capture' | 'void' | 'refund',
    request: { idempotencyKey: string; authorization: string; amountCents?: number; currency?: string },
  ): Promise<ProviderResult> {
    const authorization = await authorizationRow(db, request.authorization);
    const amountCents = request.amountCents ?? authorization.amountCents;
    const currency = request.currency ?? authorization.currency;
    if (!Number.isSafeInteger(amountCents) || amountCents < 0 || amountCents > authorization.amountCents) {
      throw new Error(
        `mock provider: cannot ${operation} ${amountCents} of an authorization of ${authorization.amountCents}`,
      );
    }
    if (currency !== authorization.currency) {
      throw new Error(
        `mock provider: cannot ${operation} in ${currency} an authorization in ${authorization.currency}`,
      );
    }
    const row = await answer(
      {
        idempotencyKey: request.idempotencyKey,
        operation,
        reference: `${REFERENCE_PREFIX[operation]}${newId()}`,
        paymentMethod: authorization.paymentMethod,
        amountCents,
        currency,
      },
      authorization.paymentMethod === PROCESSING_ERROR_TOKEN,
      async () => {
        if (operation !== 'capture') return { outcome: 'succeeded' };
        const state = await authorizationState(db, authorization);
        if (state.outcome === 'approved') return { outcome: 'succeeded' };
        return { outcome: 'declined', reason: state.outcome === 'declined' ? state.reason : 'CARD_DECLINED' };
      },
    );
    return toProviderResult(row);
  }

  return {
    name: MOCK_PROVIDER_NAME,

    async authorize(request) {
      const row = await answer(
        {
          idempotencyKey: request.idempotencyKey,
          operation: 'authorize',
          reference: `${REFERENCE_PREFIX.authorize}${newId()}`,
          paymentMethod: request.paymentMethod,
          amountCents: request.amountCents,
          currency: request.currency,
        },
        request.paymentMethod === PROCESSING_ERROR_TOKEN,
        () => mockAuthorizeDecision(request.paymentMethod, random(request.idempotencyKey), failureRate),
      );
      return toAuthorizeOutcome(row);
    },

    async confirm(request) {
      if (!request.idempotencyKey) throw new Error('mock provider: an idempotency key is required');
      // The authorization's row lock orders confirmations: the first one decides, later ones see it.
      return db.transaction(async (tx) => {
        const authorization = await authorizationRow(tx, request.authorization, true);
        const state = await authorizationState(tx, authorization);
        const decision: MockDecision =
          state.outcome !== 'requires_confirmation'
            ? state
            : request.approved
              ? { outcome: 'approved' }
              : { outcome: 'declined', reason: request.reason ?? 'CARD_DECLINED' };
        const row = await upsertRequest(
          tx,
          {
            idempotencyKey: request.idempotencyKey,
            operation: 'confirm',
            reference: authorization.reference,
            paymentMethod: authorization.paymentMethod,
            amountCents: authorization.amountCents,
            currency: authorization.currency,
          },
          decision,
        );
        return toAuthorizeOutcome(row);
      });
    },

    capture: (request) => followUp('capture', request),
    void: (request) => followUp('void', request),
    refund: (request) => followUp('refund', request),
  };
}
