import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DECLINE_REASONS } from '../../lib/checkout.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.js';
import { untilAnswered } from '../../test/support/errors.js';
import { createMockProvider } from './mock-provider.js';
import { type AuthorizeOutcome, isProviderUnavailable, type PaymentProvider } from './payment-provider.js';

let db: TestDatabase;
let provider: PaymentProvider;

beforeAll(async () => {
  db = await createTestDatabase({ max: 20 });
  provider = createMockProvider({ db: db.db, failureRate: 0 });
});
afterAll(async () => {
  await db?.destroy();
});

const key = (step: string) => `${randomUUID()}:${step}`;
const AUTH_REFERENCE = /^mock_auth_[0-9a-f-]{36}$/;

function authorize(paymentMethod: string, options: { idempotencyKey?: string; via?: PaymentProvider } = {}) {
  return (options.via ?? provider).authorize({
    idempotencyKey: options.idempotencyKey ?? key('authorize'),
    amountCents: 12_345,
    currency: 'USD',
    paymentMethod,
    description: 'test payment',
  });
}

async function approvedReference(paymentMethod = 'tok_visa'): Promise<string> {
  const answer = await authorize(paymentMethod);
  if (answer.outcome !== 'approved') throw new Error(`expected an approval, got ${answer.outcome}`);
  return answer.reference;
}

interface BookRow {
  operation: string;
  reference: string;
  payment_method: string | null;
  amount_cents: number;
  outcome: string;
  decline_reason: string | null;
  attempts: number;
}

/** The mock's books for one idempotency key: what the "bank" recorded, independently of any caller. */
async function books(idempotencyKey: string): Promise<BookRow[]> {
  return db.sql<BookRow[]>`
    select operation, reference, payment_method, amount_cents::int as amount_cents, outcome, decline_reason, attempts
    from mock_provider_requests where idempotency_key = ${idempotencyKey}`;
}

describe('authorize by test token', () => {
  it.each([
    ['tok_visa', 'approved', null],
    ['tok_amex', 'approved', null],
    ['tok_chargeDeclined', 'declined', 'CARD_DECLINED'],
    ['tok_insufficientFunds', 'declined', 'NO_FUNDS'],
    ['tok_expiredCard', 'declined', 'CARD_EXPIRED'],
    ['tok_incorrectCvc', 'declined', 'INVALID_CCV'],
    ['tok_threeDSecure', 'requires_confirmation', null],
  ])('%s is %s (%s), and a retry with the key gets the same answer', async (token, outcome, reason) => {
    const idempotencyKey = key('authorize');
    const first = await authorize(token, { idempotencyKey });
    expect(first).toEqual({
      outcome,
      reference: expect.stringMatching(AUTH_REFERENCE),
      ...(reason ? { reason } : {}),
    });
    expect(await authorize(token, { idempotencyKey })).toEqual(first);
    expect(await books(idempotencyKey)).toEqual([
      {
        operation: 'authorize',
        reference: first.reference,
        payment_method: token,
        amount_cents: 12_345,
        outcome,
        decline_reason: reason,
        attempts: 2,
      },
    ]);
  });

  it('refuses a key reused for another amount: a caller bug, not a business outcome', async () => {
    const idempotencyKey = key('authorize');
    await authorize('tok_visa', { idempotencyKey });
    const reused = provider.authorize({
      idempotencyKey,
      amountCents: 1,
      currency: 'USD',
      paymentMethod: 'tok_visa',
      description: 'other',
    });
    await expect(reused).rejects.toThrow(/first used for another request/);
  });
});

describe('PAYMENT_FAILURE_RATE', () => {
  it('refuses every approvable payment at rate 1, with a contract reason, and none at rate 0', async () => {
    const always = createMockProvider({ db: db.db, failureRate: 1 });
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => authorize('tok_visa', { via: always })),
    );
    for (const answer of answers) {
      expect(answer.outcome).toBe('declined');
      expect(DECLINE_REASONS).toContain(answer.outcome === 'declined' ? answer.reason : undefined);
    }
    const never = await Promise.all(Array.from({ length: 30 }, () => authorize('tok_visa')));
    expect(never.every((answer) => answer.outcome === 'approved')).toBe(true);
    // 3-D Secure is not an approval yet: the rate does not apply to it.
    expect((await authorize('tok_threeDSecure', { via: always })).outcome).toBe('requires_confirmation');
  });

  it('draws per key: the same key gets the same answer even from a provider that lost its books', async () => {
    const half = createMockProvider({ db: db.db, failureRate: 0.5 });
    const idempotencyKeys = Array.from({ length: 20 }, () => key('authorize'));
    const strip = ({ reference: _, ...rest }: AuthorizeOutcome) => rest;
    const first = await Promise.all(
      idempotencyKeys.map((k) => authorize('tok_visa', { via: half, idempotencyKey: k })),
    );
    await db.sql`delete from mock_provider_requests where idempotency_key in ${db.sql(idempotencyKeys)}`;
    const again = await Promise.all(
      idempotencyKeys.map((k) => authorize('tok_visa', { via: half, idempotencyKey: k })),
    );
    expect(again.map(strip)).toEqual(first.map(strip));
    expect(new Set(first.map((answer) => answer.outcome))).toEqual(new Set(['approved', 'declined']));
  });

  it('refuses about 30% of 1000 payments at rate 0.3', async () => {
    const rated = createMockProvider({ db: db.db, failureRate: 0.3 });
    let declined = 0;
    for (let batch = 0; batch < 10; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 100 }, () => authorize('tok_visa', { via: rated })),
      );
      declined += answers.filter((answer) => answer.outcome === 'declined').length;
    }
    expect(declined).toBeGreaterThan(250);
    expect(declined).toBeLessThan(350);
  });

  it('rejects a rate outside 0..1', () => {
    expect(() => createMockProvider({ db: db.db, failureRate: 1.5 })).toThrow(RangeError);
    expect(() => createMockProvider({ db: db.db, failureRate: Number.NaN })).toThrow(RangeError);
  });
});

describe('tok_processingError', () => {
  it('fails, then processes but loses the answer, then answers: one authorization, whatever the retries', async () => {
    const idempotencyKey = key('authorize');
    const call = () => authorize('tok_processingError', { idempotencyKey });

    await expect(call()).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
    expect(await books(idempotencyKey)).toMatchObject([{ outcome: 'unavailable', attempts: 1 }]);
    await expect(call()).rejects.toMatchObject({ code: 'PROVIDER_TIMEOUT' });
    expect(await books(idempotencyKey)).toMatchObject([{ outcome: 'approved', attempts: 2 }]);

    const answer = await call();
    expect(answer).toEqual({ outcome: 'approved', reference: expect.stringMatching(AUTH_REFERENCE) });
    expect(await call()).toEqual(answer);
    expect(await books(idempotencyKey)).toMatchObject([
      { operation: 'authorize', reference: answer.reference, outcome: 'approved', attempts: 4 },
    ]);
  });

  it('does the same for capture, void and refund of such an authorization', async () => {
    const authorizeKey = key('authorize');
    const authorization = (
      await untilAnswered(() => authorize('tok_processingError', { idempotencyKey: authorizeKey }))
    ).answer.reference;
    const captureKey = key('capture');
    const capture = await untilAnswered(() =>
      provider.capture({ idempotencyKey: captureKey, authorization, amountCents: 12_345, currency: 'USD' }),
    );
    expect(capture).toEqual({
      answer: { outcome: 'succeeded', reference: expect.stringMatching(/^mock_cap_/) },
      failures: ['PROVIDER_UNAVAILABLE', 'PROVIDER_TIMEOUT'],
    });
    expect(await books(captureKey)).toMatchObject([
      { operation: 'capture', outcome: 'succeeded', attempts: 3 },
    ]);

    const refundKey = key('refund');
    const refund = await untilAnswered(() =>
      provider.refund({ idempotencyKey: refundKey, authorization, amountCents: 12_345, currency: 'USD' }),
    );
    expect(refund.failures).toEqual(['PROVIDER_UNAVAILABLE', 'PROVIDER_TIMEOUT']);
    expect(refund.answer).toEqual({
      outcome: 'succeeded',
      reference: expect.stringMatching(/^mock_refund_/),
    });

    const otherKey = key('authorize');
    const other = (await untilAnswered(() => authorize('tok_processingError', { idempotencyKey: otherKey })))
      .answer.reference;
    const voidKey = key('void');
    const voided = await untilAnswered(() =>
      provider.void({ idempotencyKey: voidKey, authorization: other }),
    );
    expect(voided.failures).toEqual(['PROVIDER_UNAVAILABLE', 'PROVIDER_TIMEOUT']);
    expect(voided.answer).toEqual({ outcome: 'succeeded', reference: expect.stringMatching(/^mock_void_/) });
  });

  it('processes once when 20 calls with one key race: one failure, one lost answer, 18 answers', async () => {
    const idempotencyKey = key('authorize');
    const settled = await Promise.allSettled(
      Array.from({ length: 20 }, () => authorize('tok_processingError', { idempotencyKey })),
    );
    const codes = settled.flatMap((result) =>
      result.status === 'rejected' && isProviderUnavailable(result.reason) ? [result.reason.code] : [],
    );
    expect(codes.sort()).toEqual(['PROVIDER_TIMEOUT', 'PROVIDER_UNAVAILABLE']);
    const [row] = await books(idempotencyKey);
    const answers = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    expect(answers).toHaveLength(18);
    for (const answer of answers) expect(answer).toEqual({ outcome: 'approved', reference: row?.reference });
    expect(await books(idempotencyKey)).toMatchObject([{ outcome: 'approved', attempts: 20 }]);
  });
});

describe('tok_threeDSecure', () => {
  it('approves on a positive confirmation; later confirmations, under any key, see that answer', async () => {
    const pending = await authorize('tok_threeDSecure');
    expect(pending.outcome).toBe('requires_confirmation');
    const confirmKey = key('confirm');
    const confirmed = await provider.confirm({
      idempotencyKey: confirmKey,
      authorization: pending.reference,
      approved: true,
    });
    expect(confirmed).toEqual({ outcome: 'approved', reference: pending.reference });
    expect(
      await provider.confirm({
        idempotencyKey: confirmKey,
        authorization: pending.reference,
        approved: true,
      }),
    ).toEqual(confirmed);
    const late = await provider.confirm({
      idempotencyKey: key('confirm'),
      authorization: pending.reference,
      approved: false,
      reason: 'NO_FUNDS',
    });
    expect(late).toEqual(confirmed);
    const capture = await provider.capture({
      idempotencyKey: key('capture'),
      authorization: pending.reference,
      amountCents: 12_345,
      currency: 'USD',
    });
    expect(capture.outcome).toBe('succeeded');
  });

  it('declines on a negative confirmation with its reason, CARD_DECLINED by default; no capture follows', async () => {
    const withReason = await authorize('tok_threeDSecure');
    expect(
      await provider.confirm({
        idempotencyKey: key('confirm'),
        authorization: withReason.reference,
        approved: false,
        reason: 'NO_FUNDS',
      }),
    ).toEqual({ outcome: 'declined', reference: withReason.reference, reason: 'NO_FUNDS' });

    const withoutReason = await authorize('tok_threeDSecure');
    const declined = await provider.confirm({
      idempotencyKey: key('confirm'),
      authorization: withoutReason.reference,
      approved: false,
    });
    expect(declined).toEqual({
      outcome: 'declined',
      reference: withoutReason.reference,
      reason: 'CARD_DECLINED',
    });
    const capture = await provider.capture({
      idempotencyKey: key('capture'),
      authorization: withoutReason.reference,
      amountCents: 12_345,
      currency: 'USD',
    });
    expect(capture).toMatchObject({ outcome: 'declined', reason: 'CARD_DECLINED' });
  });

  it('refuses to capture an authorization still awaiting confirmation', async () => {
    const pending = await authorize('tok_threeDSecure');
    const capture = await provider.capture({
      idempotencyKey: key('capture'),
      authorization: pending.reference,
      amountCents: 12_345,
      currency: 'USD',
    });
    expect(capture).toMatchObject({ outcome: 'declined', reason: 'CARD_DECLINED' });
  });

  it('answers a confirmation of an ordinary approval with that approval', async () => {
    const reference = await approvedReference();
    expect(
      await provider.confirm({ idempotencyKey: key('confirm'), authorization: reference, approved: false }),
    ).toEqual({ outcome: 'approved', reference });
  });
});

describe('capture, void and refund', () => {
  it('captures, voids and refunds an approved authorization under their own references', async () => {
    const reference = await approvedReference();
    const captureKey = key('capture');
    const capture = {
      idempotencyKey: captureKey,
      authorization: reference,
      amountCents: 12_345,
      currency: 'USD',
    };
    const captured = await provider.capture(capture);
    expect(captured).toEqual({
      outcome: 'succeeded',
      reference: expect.stringMatching(/^mock_cap_[0-9a-f-]{36}$/),
    });
    expect(await provider.capture(capture)).toEqual(captured);
    expect(await books(captureKey)).toEqual([
      {
        operation: 'capture',
        reference: captured.reference,
        payment_method: 'tok_visa',
        amount_cents: 12_345,
        outcome: 'succeeded',
        decline_reason: null,
        attempts: 2,
      },
    ]);
    expect(
      await provider.refund({
        idempotencyKey: key('refund'),
        authorization: reference,
        amountCents: 100,
        currency: 'USD',
      }),
    ).toMatchObject({ outcome: 'succeeded' });
    const other = await approvedReference();
    expect(await provider.void({ idempotencyKey: key('void'), authorization: other })).toMatchObject({
      outcome: 'succeeded',
    });
  });

  it('refuses to capture a declined authorization, with its reason', async () => {
    const refused = await authorize('tok_insufficientFunds');
    const capture = await provider.capture({
      idempotencyKey: key('capture'),
      authorization: refused.reference,
      amountCents: 12_345,
      currency: 'USD',
    });
    expect(capture).toMatchObject({ outcome: 'declined', reason: 'NO_FUNDS' });
  });

  it('treats an unknown authorization or an amount above the authorized one as a bug', async () => {
    const unknown = provider.capture({
      idempotencyKey: key('capture'),
      authorization: 'mock_auth_nope',
      amountCents: 1,
      currency: 'USD',
    });
    await expect(unknown).rejects.toThrow(/unknown authorization/);
    await expect(unknown).rejects.not.toSatisfy(isProviderUnavailable);
    await expect(
      provider.void({ idempotencyKey: key('void'), authorization: 'mock_auth_nope' }),
    ).rejects.toThrow(/unknown authorization/);
    const reference = await approvedReference();
    await expect(
      provider.capture({
        idempotencyKey: key('capture'),
        authorization: reference,
        amountCents: 12_346,
        currency: 'USD',
      }),
    ).rejects.toThrow(/cannot capture/);
    await expect(
      provider.refund({
        idempotencyKey: key('refund'),
        authorization: reference,
        amountCents: 1,
        currency: 'EUR',
      }),
    ).rejects.toThrow(/cannot refund/);
  });
});

describe('concurrency', () => {
  it('answers 20 concurrent authorizations with one key once: one row, one reference', async () => {
    const idempotencyKey = key('authorize');
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => authorize('tok_visa', { idempotencyKey })),
    );
    const [first] = answers;
    expect(first?.outcome).toBe('approved');
    for (const answer of answers) expect(answer).toEqual(first);
    expect(await books(idempotencyKey)).toMatchObject([{ reference: first?.reference, attempts: 20 }]);
  });

  it('lets the first of two racing confirmations decide', async () => {
    const pending = await authorize('tok_threeDSecure');
    const [yes, no] = await Promise.all([
      provider.confirm({ idempotencyKey: key('confirm'), authorization: pending.reference, approved: true }),
      provider.confirm({ idempotencyKey: key('confirm'), authorization: pending.reference, approved: false }),
    ]);
    expect(yes).toEqual(no);
  });
});
