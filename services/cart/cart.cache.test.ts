import { describe, expect, it } from 'vitest';
import { acceptsFlight, decodeRecord, encodeRecord, ttlWithJitter } from './cart.cache.js';
import type { CartRecord } from './cart.model.js';

describe('ttlWithJitter', () => {
  it.each([
    [0, 900_000],
    [0.5, 1_050_000],
    [0.999_999_9, 1_199_999],
  ])('maps random %d to %d ms for 15 min + up to 5 min', (draw, expected) => {
    expect(ttlWithJitter(900_000, 300_000, () => draw)).toBe(expected);
  });

  it('stays within [ttl, ttl + jitter) and spreads over the range', () => {
    const samples = Array.from({ length: 2_000 }, () => ttlWithJitter(60_000, 10_000));
    for (const ttl of samples) {
      expect(ttl).toBeGreaterThanOrEqual(60_000);
      expect(ttl).toBeLessThan(70_000);
      expect(Number.isInteger(ttl)).toBe(true);
    }
    expect(Math.min(...samples)).toBeLessThan(61_000);
    expect(Math.max(...samples)).toBeGreaterThan(69_000);
  });

  it('is exactly the TTL without jitter', () => {
    expect(ttlWithJitter(60_000, 0)).toBe(60_000);
  });
});

describe('acceptsFlight', () => {
  it.each([
    [10, 10, true],
    [11, 10, true],
    [9, 10, false],
    [0, 0, true],
    [0, 5, false],
  ])('a shared read at version %d for a caller that saw floor %d: %s', (flight, floor, accepted) => {
    expect(acceptsFlight(flight, floor)).toBe(accepted);
  });
});

describe('cached cart encoding', () => {
  const cart: CartRecord = {
    id: '0190a1b2-0000-7000-8000-000000000001',
    userId: 42,
    version: 17,
    lines: [
      { productId: 1, quantity: 2, addedAt: new Date('2026-04-30T10:00:00.123Z'), version: 15 },
      { productId: 5, quantity: 99, addedAt: new Date('2026-04-30T10:01:00Z'), version: 17 },
    ],
    createdAt: new Date('2026-04-30T09:00:00Z'),
    updatedAt: new Date('2026-04-30T10:01:00Z'),
  };

  it('round-trips a cart and the absence of one', () => {
    expect(decodeRecord(encodeRecord(cart), 42)).toEqual(cart);
    const none: CartRecord = { id: null, userId: 8, version: 0, lines: [], createdAt: null, updatedAt: null };
    expect(decodeRecord(encodeRecord(none), 8)).toEqual(none);
  });

  it('treats unreadable entries and another user’s cart as absent', () => {
    expect(decodeRecord(encodeRecord(cart), 43)).toBeUndefined();
    expect(decodeRecord('not json', 42)).toBeUndefined();
    expect(decodeRecord('{"userId":42}', 42)).toBeUndefined();
    for (const unreadable of ['null', '42', '"text"', '[]'])
      expect(decodeRecord(unreadable, 42)).toBeUndefined();
  });
});
