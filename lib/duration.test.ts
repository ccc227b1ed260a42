import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['90d', 7_776_000_000],
    ['1.5s', 1500],
    ['250', 250],
    [' 2m ', 120_000],
  ])('%j -> %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'soon', '-5m', '5 m', '5w', '1e3', 'm'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});
