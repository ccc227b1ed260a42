import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { checkoutFailureOf, confirmationProblem, utcTime } from './failures.js';

const fromActivity = (cause: Error) =>
  new ActivityFailure(
    'activity failed',
    'reserveStock',
    '1',
    RetryState.NON_RETRYABLE_FAILURE,
    undefined,
    cause,
  );

describe('checkoutFailureOf', () => {
  it('keeps the contract code and the provider reason of a business rejection', () => {
    const declined = ApplicationFailure.create({
      message: 'the payment was refused',
      type: 'payment_declined',
      nonRetryable: true,
      details: [{ reason: 'NO_FUNDS' }],
    });
    expect(checkoutFailureOf(fromActivity(declined))).toEqual({
      code: 'payment_declined',
      reason: 'NO_FUNDS',
      message: 'the payment was refused',
    });
    expect(checkoutFailureOf(ApplicationFailure.nonRetryable('no stock', 'insufficient_stock'))).toEqual({
      code: 'insufficient_stock',
      reason: null,
      message: 'no stock',
    });
  });

  it('hides anything else behind internal_error, never leaking its text', () => {
    const bug = ApplicationFailure.nonRetryable('relation "carts" does not exist', 'PostgresError');
    expect(checkoutFailureOf(fromActivity(bug))).toEqual({
      code: 'internal_error',
      reason: null,
      message: 'the checkout could not be completed',
    });
    expect(checkoutFailureOf(new Error('boom')).code).toBe('internal_error');
  });
});

describe('confirmationProblem', () => {
  it.each([{}, { approved: true }, { approved: false, reason: 'CARD_DECLINED' }])('accepts %j', (input) => {
    expect(confirmationProblem(input as never)).toBeUndefined();
  });
  it.each([
    [{ approved: 'yes' }, '"approved" must be true or false'],
    [{ approved: false, reason: 'BROKE' }, '"reason" must be one of'],
    [null, 'the input must be an object'],
  ])('refuses %j', (input, problem) => {
    expect(confirmationProblem(input as never)).toContain(problem);
  });
});

it('prints an instant as hours and minutes in UTC', () => {
  expect(utcTime('2026-11-26T12:05:33.120Z')).toBe('12:05 UTC');
});
