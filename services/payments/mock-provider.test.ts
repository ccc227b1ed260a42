import { describe, expect, it } from 'vitest';
import { DECLINE_REASONS } from '../../lib/checkout.js';
import { keyDraw, mockAuthorizeDecision } from './mock-provider.js';
import { isProviderUnavailable, ProviderUnavailableError } from './payment-provider.js';

const keys = (count: number, prefix = 'checkout') =>
  Array.from({ length: count }, (_, i) => `${prefix}-${i}:authorize`);

describe('keyDraw', () => {
  it('gives each key the same number in [0, 1) every time', () => {
    for (const key of keys(200)) {
      const draw = keyDraw(key);
      expect(draw).toBeGreaterThanOrEqual(0);
      expect(draw).toBeLessThan(1);
      expect(keyDraw(key)).toBe(draw);
    }
    expect(keyDraw('a:authorize')).not.toBe(keyDraw('b:authorize'));
  });

  it('spreads keys evenly: each tenth of [0, 1) gets about a tenth of 10000 keys', () => {
    const buckets = new Array<number>(10).fill(0);
    for (const key of keys(10_000)) {
      const bucket = Math.floor(keyDraw(key) * 10);
      buckets[bucket] = (buckets[bucket] ?? 0) + 1;
    }
    for (const count of buckets) {
      expect(count).toBeGreaterThan(850);
      expect(count).toBeLessThan(1150);
    }
  });
});

describe('mockAuthorizeDecision', () => {
  it.each([
    ['tok_visa', { outcome: 'approved' }],
    ['tok_mastercard', { outcome: 'approved' }],
    ['tok_chargeDeclined', { outcome: 'declined', reason: 'CARD_DECLINED' }],
    ['tok_insufficientFunds', { outcome: 'declined', reason: 'NO_FUNDS' }],
    ['tok_expiredCard', { outcome: 'declined', reason: 'CARD_EXPIRED' }],
    ['tok_incorrectCvc', { outcome: 'declined', reason: 'INVALID_CCV' }],
    ['tok_threeDSecure', { outcome: 'requires_confirmation' }],
    ['tok_processingError', { outcome: 'approved' }],
    ['constructor', { outcome: 'approved' }],
  ])('answers %s with %o when the failure rate is 0', (token, expected) => {
    expect(mockAuthorizeDecision(token, 0, 0)).toEqual(expected);
  });

  it('refuses every approvable payment at rate 1 and none at rate 0, leaving the special tokens alone', () => {
    for (const key of keys(500)) {
      expect(mockAuthorizeDecision('tok_visa', keyDraw(key), 1).outcome).toBe('declined');
      expect(mockAuthorizeDecision('tok_visa', keyDraw(key), 0).outcome).toBe('approved');
      expect(mockAuthorizeDecision('tok_threeDSecure', keyDraw(key), 1).outcome).toBe(
        'requires_confirmation',
      );
      expect(mockAuthorizeDecision('tok_expiredCard', keyDraw(key), 0)).toEqual({
        outcome: 'declined',
        reason: 'CARD_EXPIRED',
      });
    }
  });

  it('refuses about 30% of 1000 payments at rate 0.3, with every contract reason drawn', () => {
    const decisions = keys(1000).map((key) => mockAuthorizeDecision('tok_visa', keyDraw(key), 0.3));
    const refusals = decisions.flatMap((decision) =>
      decision.outcome === 'declined' ? [decision.reason] : [],
    );
    expect(refusals.length / decisions.length).toBeGreaterThan(0.25);
    expect(refusals.length / decisions.length).toBeLessThan(0.35);
    expect(new Set(refusals)).toEqual(new Set(DECLINE_REASONS));
  });

  it('keeps the reason inside the contract for draws at the edges of the band', () => {
    for (const draw of [0, 0.049_999_999, 0.05 - Number.EPSILON]) {
      const decision = mockAuthorizeDecision('tok_visa', draw, 0.05);
      expect(decision.outcome).toBe('declined');
      expect(DECLINE_REASONS).toContain('reason' in decision ? decision.reason : undefined);
    }
    expect(mockAuthorizeDecision('tok_visa', 0.05, 0.05).outcome).toBe('approved');
  });
});

describe('ProviderUnavailableError', () => {
  it('is recognised by shape and carries its code', () => {
    const error = new ProviderUnavailableError('PROVIDER_TIMEOUT', 'answer lost');
    expect(isProviderUnavailable(error)).toBe(true);
    expect(error.code).toBe('PROVIDER_TIMEOUT');
    const lookalike = Object.assign(new Error('x'), {
      name: 'ProviderUnavailableError',
      code: 'PROVIDER_UNAVAILABLE',
    });
    expect(isProviderUnavailable(lookalike)).toBe(true);
    expect(isProviderUnavailable(new Error('PROVIDER_TIMEOUT'))).toBe(false);
    expect(isProviderUnavailable({ name: 'ProviderUnavailableError', code: 'PROVIDER_TIMEOUT' })).toBe(false);
  });
});
