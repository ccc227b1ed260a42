import { describe, expect, it } from 'vitest';
import { AppError, findCause, findErrorCode, isAppError } from './errors.js';

const sqlState = (code: string) => /^[0-9A-Z]{5}$/.test(code);

describe('findErrorCode', () => {
  it.each([
    ['the error itself', Object.assign(new Error('x'), { code: '23505' }), '23505'],
    [
      'a wrapped cause',
      new Error('query failed', { cause: Object.assign(new Error('x'), { code: '57014' }) }),
      '57014',
    ],
    [
      'past a code it does not take',
      Object.assign(new Error('x'), { code: 'ECONNRESET', cause: { code: '40P01' } }),
      '40P01',
    ],
    ['four deep', { cause: { cause: { cause: { code: '23503' } } } }, '23503'],
    ['not five deep', { cause: { cause: { cause: { cause: { code: '23503' } } } } }, undefined],
    ['a number code', { code: 23505 }, undefined],
    ['nothing', undefined, undefined],
  ])('finds %s', (_, error, expected) => {
    expect(findErrorCode(error, sqlState)).toBe(expected);
  });
});

describe('findCause', () => {
  const isTypeError = (candidate: unknown): candidate is TypeError => candidate instanceof TypeError;

  it('answers the first link the predicate takes, as deep as asked', () => {
    const inner = new TypeError('inner');
    const chain = new Error('outer', { cause: new Error('middle', { cause: inner }) });
    expect(findCause(chain, isTypeError)).toBe(inner);
    expect(findCause(chain, isTypeError, 2)).toBeUndefined();
    expect(findCause(new Error('alone'), isTypeError)).toBeUndefined();
  });
});

describe('isAppError', () => {
  it('recognises an AppError by shape and refuses unknown codes', () => {
    expect(isAppError(new AppError('not_found', 'gone'))).toBe(true);
    expect(isAppError(Object.assign(new Error('x'), { name: 'AppError', code: 'not_found' }))).toBe(true);
    expect(isAppError(Object.assign(new Error('x'), { name: 'AppError', code: 'nope' }))).toBe(false);
    expect(isAppError({ name: 'AppError', code: 'not_found' })).toBe(false);
  });
});
