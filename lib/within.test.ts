import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { within } from './within.js';

describe('within', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('answers the value of a promise that settles in time and leaves no timer behind', async () => {
    await expect(within(Promise.resolve('ok'), 1_000)).resolves.toBe('ok');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with an error that comes in time', async () => {
    await expect(within(Promise.reject(new Error('down')), 1_000)).rejects.toThrow('down');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('answers undefined once the time is up, and swallows a later rejection', async () => {
    let reject: (error: Error) => void = () => {};
    const late = new Promise<string>((_, fail) => {
      reject = fail;
    });
    const answer = within(late, 1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(answer).resolves.toBeUndefined();
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    try {
      reject(new Error('too late'));
      vi.useRealTimers();
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });
});
