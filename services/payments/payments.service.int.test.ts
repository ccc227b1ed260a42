import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DECLINE_REASONS } from '../../lib/checkout.js';
import { FixedClock } from '../../lib/clock.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.js';
import { rejection, untilAnswered } from '../../test/support/errors.js';
import { createMockProvider } from './mock-provider.js';
import { type PaymentProvider, ProviderUnavailableError } from './payment-provider.js';
import { createPaymentsService, type Payment, type PaymentsService } from './payments.service.js';

const START = '2026-03-01T12:00:00.000Z';
const AMOUNT = 12_345;

let db: TestDatabase;
let provider: PaymentProvider;
let payments: PaymentsService;

beforeAll(async () => {
  db = await createTestDatabase({ max: 20 });
  provider = createMockProvider({ db: db.db, failureRate: 0 });
  payments = createPaymentsService({ db: db.db, provider, clock: new FixedClock(START) });
});
afterAll(async () => {
  await db?.destroy();
});

const authorizeInput = (checkoutId: string, paymentMethod = 'tok_visa') => ({
  checkoutId,
  userId: 42,
  amountCents: AMOUNT,
  currency: 'USD',
  paymentMethod,
});

async function authorized(paymentMethod = 'tok_visa'): Promise<{ checkoutId: string; payment: Payment }> {
  const checkoutId = randomUUID();
  const payment = await payments.authorize(authorizeInput(checkoutId, paymentMethod));
  return { checkoutId, payment };
}

interface OperationRow {
  kind: string;
  idempotency_key: string;
  amount_cents: number;
  outcome: string;
  decline_reason: string | null;
  attempts: number;
  last_error: string | null;
}

async function operations(checkoutId: string): Promise<OperationRow[]> {
  return db.sql<OperationRow[]>`
    select o.kind, o.idempotency_key, o.amount_cents::int as amount_cents, o.outcome, o.decline_reason,
           o.attempts, o.last_error
    from payment_operations o join payments p on p.id = o.payment_id
    where p.checkout_id = ${checkoutId}
    order by array_position(array['AUTHORIZE', 'CAPTURE', 'VOID', 'REFUND'], o.kind)`;
}

/** What the mock "bank" recorded for a checkout's keys, independently of the payments tables. */
async function bankBooks(
  checkoutId: string,
): Promise<{ operation: string; outcome: string; attempts: number }[]> {
  return db.sql`
    select operation, outcome, attempts from mock_provider_requests
    where idempotency_key like ${`${checkoutId}:%`}
    order by array_position(array['authorize', 'confirm', 'capture', 'void', 'refund'], operation)`;
}

/** The proof of "charged exactly once": succeeded captures per payment, from the database alone. */
async function succeededCaptures(checkoutId: string): Promise<number> {
  const [row] = await db.sql<{ captures: number }[]>`
    select count(*)::int as captures from payment_operations o join payments p on p.id = o.payment_id
    where p.checkout_id = ${checkoutId} and o.kind = 'CAPTURE' and o.outcome = 'SUCCEEDED'`;
  return row?.captures ?? -1;
}

describe('the happy path', () => {
  it('authorizes, captures and refunds the amount once each, recording every provider call', async () => {
    const checkoutId = randomUUID();
    const payment = await payments.authorize(authorizeInput(checkoutId));
    expect(payment).toEqual({
      id: expect.any(String),
      checkoutId,
      userId: 42,
      amountCents: AMOUNT,
      currency: 'USD',
      paymentMethod: 'tok_visa',
      provider: 'mock',
      providerReference: expect.stringMatching(/^mock_auth_/),
      status: 'AUTHORIZED',
      declineReason: null,
      capturedCents: 0,
      refundedCents: 0,
      createdAt: new Date(START),
      updatedAt: new Date(START),
    });

    const captured = await payments.capture(checkoutId);
    expect(captured).toMatchObject({
      id: payment.id,
      status: 'CAPTURED',
      capturedCents: AMOUNT,
      refundedCents: 0,
    });
    const refunded = await payments.refund(checkoutId);
    expect(refunded).toMatchObject({
      id: payment.id,
      status: 'REFUNDED',
      capturedCents: AMOUNT,
      refundedCents: AMOUNT,
    });

    expect(await payments.get(checkoutId)).toEqual(refunded);
    expect(await payments.getById(payment.id)).toEqual(refunded);
    const succeeded = { outcome: 'SUCCEEDED', decline_reason: null, attempts: 1, last_error: null };
    expect(await operations(checkoutId)).toEqual([
      { kind: 'AUTHORIZE', idempotency_key: `${checkoutId}:authorize`, amount_cents: AMOUNT, ...succeeded },
      { kind: 'CAPTURE', idempotency_key: `${checkoutId}:capture`, amount_cents: AMOUNT, ...succeeded },
      { kind: 'REFUND', idempotency_key: `${checkoutId}:refund`, amount_cents: AMOUNT, ...succeeded },
    ]);
    expect(await bankBooks(checkoutId)).toEqual([
      { operation: 'authorize', outcome: 'approved', attempts: 1 },
      { operation: 'capture', outcome: 'succeeded', attempts: 1 },
      { operation: 'refund', outcome: 'succeeded', attempts: 1 },
    ]);
  });

  it('treats an absent payment method as tok_visa', async () => {
    const checkoutId = randomUUID();
    const { paymentMethod: _, ...input } = authorizeInput(checkoutId);
    expect(await payments.authorize(input)).toMatchObject({
      paymentMethod: 'tok_visa',
      status: 'AUTHORIZED',
    });
    expect(await payments.authorize({ ...input, paymentMethod: 'tok_visa' })).toMatchObject({
      status: 'AUTHORIZED',
    });
  });

  it('answers get and getById with undefined for a checkout that never paid', async () => {
    expect(await payments.get(randomUUID())).toBeUndefined();
    expect(await payments.getById(randomUUID())).toBeUndefined();
  });
});

describe('declines', () => {
  it.each([
    ['tok_chargeDeclined', 'CARD_DECLINED'],
    ['tok_insufficientFunds', 'NO_FUNDS'],
    ['tok_expiredCard', 'CARD_EXPIRED'],
    ['tok_incorrectCvc', 'INVALID_CCV'],
  ])(
    '%s ends DECLINED with %s as a result, not an error; nothing can be captured or voided',
    async (token, reason) => {
      const { checkoutId, payment } = await authorized(token);
      expect(payment).toMatchObject({ status: 'DECLINED', declineReason: reason, capturedCents: 0 });

      expect(await payments.authorize(authorizeInput(checkoutId, token))).toEqual(payment);
      expect(await payments.void(checkoutId)).toEqual(payment);
      expect(await payments.refund(checkoutId)).toEqual(payment);
      expect((await rejection(payments.capture(checkoutId))).code).toBe('conflict');
      expect(await operations(checkoutId)).toMatchObject([
        { kind: 'AUTHORIZE', outcome: 'DECLINED', decline_reason: reason, attempts: 1 },
      ]);
      // The repeated authorize returned the recorded refusal without asking the provider again.
      expect(await bankBooks(checkoutId)).toEqual([
        { operation: 'authorize', outcome: 'declined', attempts: 1 },
      ]);
    },
  );

  it('refuses payments the failure rate draws, with a contract reason', async () => {
    const unlucky = createPaymentsService({
      db: db.db,
      provider: createMockProvider({ db: db.db, failureRate: 1 }),
      clock: new FixedClock(START),
    });
    const payment = await unlucky.authorize(authorizeInput(randomUUID()));
    expect(payment.status).toBe('DECLINED');
    expect(DECLINE_REASONS).toContain(payment.declineReason);
  });
});

describe('a provider that times out (tok_processingError)', () => {
  it('charges exactly once however often authorize and capture are retried', async () => {
    const checkoutId = randomUUID();
    const authorization = await untilAnswered(() =>
      payments.authorize(authorizeInput(checkoutId, 'tok_processingError')),
    );
    expect(authorization.failures).toEqual(['PROVIDER_UNAVAILABLE', 'PROVIDER_TIMEOUT']);
    expect(authorization.answer.status).toBe('AUTHORIZED');

    const capture = await untilAnswered(() => payments.capture(checkoutId));
    expect(capture.failures).toEqual(['PROVIDER_UNAVAILABLE', 'PROVIDER_TIMEOUT']);
    expect(capture.answer).toMatchObject({ status: 'CAPTURED', capturedCents: AMOUNT });
    expect(await payments.capture(checkoutId)).toEqual(capture.answer);

    expect(await operations(checkoutId)).toMatchObject([
      {
        kind: 'AUTHORIZE',
        outcome: 'SUCCEEDED',
        attempts: 3,
        last_error: expect.stringMatching(/^PROVIDER_TIMEOUT/),
      },
      {
        kind: 'CAPTURE',
        outcome: 'SUCCEEDED',
        attempts: 3,
        last_error: expect.stringMatching(/^PROVIDER_TIMEOUT/),
      },
    ]);
    expect(await succeededCaptures(checkoutId)).toBe(1);
    expect(await bankBooks(checkoutId)).toEqual([
      { operation: 'authorize', outcome: 'approved', attempts: 3 },
      { operation: 'capture', outcome: 'succeeded', attempts: 3 },
    ]);
  });

  it('keeps an unanswered authorization NEW and IN_FLIGHT, which void leaves alone until an answer arrives', async () => {
    const checkoutId = randomUUID();
    const first = payments.authorize(authorizeInput(checkoutId, 'tok_processingError'));
    await expect(first).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
    expect(await payments.get(checkoutId)).toMatchObject({ status: 'NEW', providerReference: null });
    expect(await operations(checkoutId)).toMatchObject([
      {
        kind: 'AUTHORIZE',
        outcome: 'IN_FLIGHT',
        attempts: 1,
        last_error: expect.stringMatching(/^PROVIDER_UNAVAILABLE/),
      },
    ]);

    expect(await payments.void(checkoutId)).toMatchObject({ status: 'NEW' });
    expect((await operations(checkoutId)).map((operation) => operation.kind)).toEqual(['AUTHORIZE']);

    // A retried authorize learns the answer; the next void releases what it authorized.
    expect(
      (await untilAnswered(() => payments.authorize(authorizeInput(checkoutId, 'tok_processingError'))))
        .answer.status,
    ).toBe('AUTHORIZED');
    expect((await untilAnswered(() => payments.void(checkoutId))).answer).toMatchObject({ status: 'VOIDED' });
    expect(await succeededCaptures(checkoutId)).toBe(0);
  });
});

describe('3-D Secure (tok_threeDSecure)', () => {
  it('waits for confirmation, then captures once confirmed; duplicate confirmations change nothing', async () => {
    const { checkoutId, payment } = await authorized('tok_threeDSecure');
    expect(payment).toMatchObject({
      status: 'REQUIRES_CONFIRMATION',
      providerReference: expect.stringMatching(/^mock_auth_/),
    });
    expect(await operations(checkoutId)).toMatchObject([
      { kind: 'AUTHORIZE', outcome: 'REQUIRES_CONFIRMATION' },
    ]);
    expect((await rejection(payments.capture(checkoutId))).code).toBe('conflict');
    expect(await payments.authorize(authorizeInput(checkoutId, 'tok_threeDSecure'))).toEqual(payment);

    const confirmed = await payments.confirm(checkoutId, { approved: true });
    expect(confirmed).toMatchObject({ status: 'AUTHORIZED', providerReference: payment.providerReference });
    expect(await payments.confirm(checkoutId, { approved: true })).toEqual(confirmed);
    expect(await payments.confirm(checkoutId, { approved: false, reason: 'NO_FUNDS' })).toEqual(confirmed);
    expect(await operations(checkoutId)).toMatchObject([
      { kind: 'AUTHORIZE', outcome: 'SUCCEEDED', attempts: 1 },
    ]);

    expect(await payments.capture(checkoutId)).toMatchObject({ status: 'CAPTURED', capturedCents: AMOUNT });
    expect(await bankBooks(checkoutId)).toEqual([
      { operation: 'authorize', outcome: 'requires_confirmation', attempts: 1 },
      { operation: 'confirm', outcome: 'approved', attempts: 1 },
      { operation: 'capture', outcome: 'succeeded', attempts: 1 },
    ]);
  });

  it('declines when the customer fails the challenge, with the reported reason', async () => {
    const { checkoutId } = await authorized('tok_threeDSecure');
    const payment = await payments.confirm(checkoutId, { approved: false, reason: 'NO_FUNDS' });
    expect(payment).toMatchObject({ status: 'DECLINED', declineReason: 'NO_FUNDS' });
    expect(await operations(checkoutId)).toMatchObject([
      { kind: 'AUTHORIZE', outcome: 'DECLINED', decline_reason: 'NO_FUNDS' },
    ]);
    expect(await payments.confirm(checkoutId, { approved: true })).toEqual(payment);
  });

  it('voids a payment still awaiting confirmation; a late confirmation leaves it voided', async () => {
    const { checkoutId } = await authorized('tok_threeDSecure');
    const voided = await payments.void(checkoutId);
    expect(voided).toMatchObject({ status: 'VOIDED' });
    expect(await payments.confirm(checkoutId, { approved: true })).toEqual(voided);
    expect((await rejection(payments.capture(checkoutId))).code).toBe('conflict');
    expect(await bankBooks(checkoutId)).toEqual([
      { operation: 'authorize', outcome: 'requires_confirmation', attempts: 1 },
      { operation: 'void', outcome: 'succeeded', attempts: 1 },
    ]);
  });

  it('reports a confirmation for a checkout without payment as not_found', async () => {
    expect((await rejection(payments.confirm(randomUUID(), { approved: true }))).code).toBe('not_found');
  });
});

describe('idempotent and concurrent verbs', () => {
  it('captures and refunds once when each is called twice', async () => {
    const { checkoutId } = await authorized();
    const captured = await payments.capture(checkoutId);
    expect(await payments.capture(checkoutId)).toEqual(captured);
    const refunded = await payments.refund(checkoutId);
    expect(await payments.refund(checkoutId)).toEqual(refunded);
    expect(await payments.capture(checkoutId)).toEqual(refunded);
    expect(refunded).toMatchObject({ status: 'REFUNDED', capturedCents: AMOUNT, refundedCents: AMOUNT });
    expect(await bankBooks(checkoutId)).toEqual([
      { operation: 'authorize', outcome: 'approved', attempts: 1 },
      { operation: 'capture', outcome: 'succeeded', attempts: 1 },
      { operation: 'refund', outcome: 'succeeded', attempts: 1 },
    ]);
  });

  it('captures once when 10 captures race, and refunds once when 10 refunds race', async () => {
    const { checkoutId } = await authorized();
    const captures = await Promise.all(Array.from({ length: 10 }, () => payments.capture(checkoutId)));
    for (const payment of captures)
      expect(payment).toMatchObject({ status: 'CAPTURED', capturedCents: AMOUNT });
    expect(await succeededCaptures(checkoutId)).toBe(1);

    const refunds = await Promise.all(Array.from({ length: 10 }, () => payments.refund(checkoutId)));
    for (const payment of refunds)
      expect(payment).toMatchObject({ status: 'REFUNDED', refundedCents: AMOUNT });
    const books = await bankBooks(checkoutId);
    expect(books.map(({ operation, outcome }) => ({ operation, outcome }))).toEqual([
      { operation: 'authorize', outcome: 'approved' },
      { operation: 'capture', outcome: 'succeeded' },
      { operation: 'refund', outcome: 'succeeded' },
    ]);
    expect(await operations(checkoutId)).toMatchObject([
      { kind: 'AUTHORIZE', outcome: 'SUCCEEDED' },
      { kind: 'CAPTURE', outcome: 'SUCCEEDED' },
      { kind: 'REFUND', outcome: 'SUCCEEDED' },
    ]);
  });

  it('creates one payment when 10 authorizations of a checkout race', async () => {
    const checkoutId = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => payments.authorize(authorizeInput(checkoutId))),
    );
    const [first] = results;
    for (const payment of results) expect(payment).toEqual(first);
    const [row] = await db.sql<{ count: number }[]>`
      select count(*)::int as count from payments where checkout_id = ${checkoutId}`;
    expect(row?.count).toBe(1);
    expect(await bankBooks(checkoutId)).toMatchObject([{ operation: 'authorize', outcome: 'approved' }]);
  });

  it('leaves a captured payment alone on void, and refunds it', async () => {
    const { checkoutId } = await authorized();
    const captured = await payments.capture(checkoutId);
    expect(await payments.void(checkoutId)).toEqual(captured);
    expect(await payments.refund(checkoutId)).toMatchObject({ status: 'REFUNDED', refundedCents: AMOUNT });
    expect((await operations(checkoutId)).map((operation) => operation.kind)).toEqual([
      'AUTHORIZE',
      'CAPTURE',
      'REFUND',
    ]);
  });

  it('voids an authorization once; it can no longer be captured', async () => {
    const { checkoutId } = await authorized();
    const voided = await payments.void(checkoutId);
    expect(voided).toMatchObject({ status: 'VOIDED', capturedCents: 0 });
    expect(await payments.void(checkoutId)).toEqual(voided);
    expect(await payments.refund(checkoutId)).toEqual(voided);
    expect((await rejection(payments.capture(checkoutId))).code).toBe('conflict');
    expect(await bankBooks(checkoutId)).toEqual([
      { operation: 'authorize', outcome: 'approved', attempts: 1 },
      { operation: 'void', outcome: 'succeeded', attempts: 1 },
    ]);
  });
});

describe('refusals', () => {
  it('refuses to authorize a checkout again on other terms', async () => {
    const { checkoutId, payment } = await authorized();
    for (const change of [
      { amountCents: AMOUNT + 1 },
      { currency: 'EUR' },
      { paymentMethod: 'tok_amex' },
      { userId: 7 },
    ]) {
      const refused = await rejection(payments.authorize({ ...authorizeInput(checkoutId), ...change }));
      expect(refused.code).toBe('conflict');
    }
    expect(await payments.get(checkoutId)).toEqual(payment);
  });

  it('refuses to capture before authorize; void and refund have nothing to undo', async () => {
    const checkoutId = randomUUID();
    expect((await rejection(payments.capture(checkoutId))).code).toBe('conflict');
    expect(await payments.void(checkoutId)).toBeUndefined();
    expect(await payments.refund(checkoutId)).toBeUndefined();
    expect(await payments.get(checkoutId)).toBeUndefined();
  });

  it('rejects malformed input before storing anything', async () => {
    const checkoutId = randomUUID();
    for (const input of [
      { ...authorizeInput(checkoutId), checkoutId: 'not-a-uuid' },
      { ...authorizeInput(checkoutId), userId: 0 },
      { ...authorizeInput(checkoutId), amountCents: 1.5 },
      { ...authorizeInput(checkoutId), amountCents: -1 },
      { ...authorizeInput(checkoutId), currency: 'usd' },
      { ...authorizeInput(checkoutId), paymentMethod: '' },
    ]) {
      expect((await rejection(payments.authorize(input))).code).toBe('invalid_argument');
    }
    expect((await rejection(payments.capture('nope'))).code).toBe('invalid_argument');
    expect((await rejection(payments.getById('nope'))).code).toBe('invalid_argument');
    expect(await payments.get(checkoutId)).toBeUndefined();
  });
});

describe('a provider that refuses or fails after authorization', () => {
  it('reports a refused capture as payment_declined with the reason, once; the authorization can still be voided', async () => {
    let captureCalls = 0;
    const refusing: PaymentProvider = {
      ...provider,
      name: provider.name,
      async capture(request) {
        captureCalls += 1;
        return { outcome: 'declined', reference: `refused_${request.idempotencyKey}`, reason: 'NO_FUNDS' };
      },
    };
    const service = createPaymentsService({ db: db.db, provider: refusing, clock: new FixedClock(START) });
    const checkoutId = randomUUID();
    await service.authorize(authorizeInput(checkoutId));

    expect(await rejection(service.capture(checkoutId))).toEqual({
      code: 'payment_declined',
      extra: { reason: 'NO_FUNDS' },
    });
    expect(await rejection(service.capture(checkoutId))).toEqual({
      code: 'payment_declined',
      extra: { reason: 'NO_FUNDS' },
    });
    expect(captureCalls).toBe(1);
    expect(await service.get(checkoutId)).toMatchObject({ status: 'AUTHORIZED', capturedCents: 0 });
    expect(await service.void(checkoutId)).toMatchObject({ status: 'VOIDED' });
    expect(await operations(checkoutId)).toMatchObject([
      { kind: 'AUTHORIZE', outcome: 'SUCCEEDED' },
      { kind: 'CAPTURE', outcome: 'DECLINED', decline_reason: 'NO_FUNDS' },
      { kind: 'VOID', outcome: 'SUCCEEDED' },
    ]);
  });

  it('refuses to void while a capture is unanswered, and captures once the provider is back', async () => {
    const down: PaymentProvider = {
      ...provider,
      name: provider.name,
      async capture() {
        throw new ProviderUnavailableError('PROVIDER_UNAVAILABLE', 'connection refused');
      },
    };
    const outage = createPaymentsService({ db: db.db, provider: down, clock: new FixedClock(START) });
    const checkoutId = randomUUID();
    await payments.authorize(authorizeInput(checkoutId));
    await expect(outage.capture(checkoutId)).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });

    // The capture may have happened at the provider: voiding now could leave money taken and nothing to refund.
    expect((await rejection(payments.void(checkoutId))).code).toBe('conflict');
    expect(await payments.capture(checkoutId)).toMatchObject({ status: 'CAPTURED', capturedCents: AMOUNT });
    expect(await operations(checkoutId)).toMatchObject([
      { kind: 'AUTHORIZE', outcome: 'SUCCEEDED' },
      {
        kind: 'CAPTURE',
        outcome: 'SUCCEEDED',
        attempts: 2,
        last_error: 'PROVIDER_UNAVAILABLE: connection refused',
      },
    ]);
  });
});

describe('the ledger checks of docs/payments.md', () => {
  async function documentedChecks(): Promise<string[]> {
    const doc = await readFile(new URL('../../docs/payments.md', import.meta.url), 'utf8');
    return [...doc.matchAll(/```sql\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
  }

  it('find nothing wrong with every payment this file made, and catch a payment captured without its capture', async () => {
    const checks = await documentedChecks();
    expect(checks).toHaveLength(2);
    for (const check of checks) expect(await db.sql.unsafe(check)).toEqual([]);

    const checkoutId = randomUUID();
    await db.sql`
      insert into payments (id, checkout_id, user_id, amount_cents, currency, payment_method, provider, status, captured_cents)
      values (${randomUUID()}, ${checkoutId}, 42, 100, 'USD', 'tok_visa', 'mock', 'CAPTURED', 100)`;
    try {
      for (const check of checks) {
        expect(await db.sql.unsafe(check)).toMatchObject([{ checkout_id: checkoutId, status: 'CAPTURED' }]);
      }
    } finally {
      await db.sql`delete from payments where checkout_id = ${checkoutId}`;
    }
  });
});
