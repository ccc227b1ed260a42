import { describe, expect, it } from 'vitest';
import { createBatchLoader, createCoalescer } from './coalesce.js';

/** A statement whose answers can be released by hand, recording when each was sent. */
function controlledStatements<T>() {
  const sent: { args: unknown; release: (value: T) => void; fail: (error: unknown) => void }[] = [];
  const send = (args: unknown) =>
    new Promise<T>((release, fail) => {
      sent.push({ args, release, fail });
    });
  return { sent, send };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('createBatchLoader', () => {
  it('answers reads of the same tick with one statement carrying every key once', async () => {
    const { sent, send } = controlledStatements<Map<number, string>>();
    const loader = createBatchLoader((keys: number[]) => send(keys));
    const reads = [loader.load([1, 2]), loader.load([2, 3]), loader.load([3])];
    await tick();
    expect(sent).toHaveLength(1);
    expect(sent[0]?.args).toEqual([1, 2, 3]);
    sent[0]?.release(
      new Map([
        [1, 'one'],
        [2, 'two'],
      ]),
    );
    const [first, second, third] = await Promise.all(reads);
    expect([...(first ?? [])]).toEqual([
      [1, 'one'],
      [2, 'two'],
    ]);
    // Each reader gets its own keys only; a key the statement did not find is absent.
    expect([...(second ?? [])]).toEqual([[2, 'two']]);
    expect(third?.size).toBe(0);
  });

  it('never hands a read the answer of a statement sent before the read arrived', async () => {
    let committed = 0; // the "database": a value that writes raise
    let statements = 0;
    const loader = createBatchLoader(async (keys: string[]) => {
      statements += 1;
      const seen = committed; // what the statement reads, at the moment it is sent
      await new Promise((resolve) => setTimeout(resolve, 2));
      return new Map(keys.map((key) => [key, seen]));
    });
    const checks: Promise<void>[] = [];
    for (let round = 0; round < 50; round++) {
      committed += 1; // a write, acknowledged before the reads below begin
      const floor = committed;
      for (let reader = 0; reader < 5; reader++) {
        checks.push(
          loader.load(['catalog']).then((found) => {
            expect(found.get('catalog')).toBeGreaterThanOrEqual(floor);
          }),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, round % 3));
    }
    await Promise.all(checks);
    // And coalescing happened: far fewer statements than the 250 reads.
    expect(statements).toBeLessThan(150);
  });

  it('keeps one statement in flight; reads arriving meanwhile share the next one', async () => {
    const { sent, send } = controlledStatements<Map<number, number>>();
    const loader = createBatchLoader((keys: number[]) => send(keys));
    const early = loader.load([1]);
    await tick();
    const late = [loader.load([1]), loader.load([2])];
    await tick();
    expect(sent).toHaveLength(1);
    sent[0]?.release(new Map([[1, 10]]));
    expect((await early).get(1)).toBe(10);
    await tick();
    expect(sent).toHaveLength(2);
    expect(sent[1]?.args).toEqual([1, 2]);
    sent[1]?.release(
      new Map([
        [1, 11],
        [2, 20],
      ]),
    );
    const [one, two] = await Promise.all(late);
    expect(one?.get(1)).toBe(11);
    expect(two?.get(2)).toBe(20);
  });

  it('fails the reads of a failed statement only; the next batch goes ahead', async () => {
    const { sent, send } = controlledStatements<Map<number, number>>();
    const loader = createBatchLoader((keys: number[]) => send(keys));
    const failing = loader.load([1]);
    await tick();
    const next = loader.load([1]);
    sent[0]?.fail(new Error('connection lost'));
    await expect(failing).rejects.toThrow('connection lost');
    await tick();
    sent[1]?.release(new Map([[1, 1]]));
    expect((await next).get(1)).toBe(1);
  });

  it('answers an empty read without a statement, and survives a fetch that throws synchronously', async () => {
    let calls = 0;
    const loader = createBatchLoader((_keys: number[]): Promise<Map<number, number>> => {
      calls += 1;
      throw new Error('bad statement');
    });
    expect((await loader.load([])).size).toBe(0);
    expect(calls).toBe(0);
    await expect(loader.load([1])).rejects.toThrow('bad statement');
    await expect(loader.load([1])).rejects.toThrow('bad statement');
    expect(calls).toBe(2);
  });
});

describe('createCoalescer', () => {
  it('shares a statement among reads of one key, and only one not yet sent', async () => {
    const { sent, send } = controlledStatements<string>();
    const coalescer = createCoalescer((key: string) => send(key));
    const first = [coalescer.run('page-1'), coalescer.run('page-1')];
    await tick();
    expect(sent).toHaveLength(1);
    const second = coalescer.run('page-1');
    await tick();
    expect(sent).toHaveLength(1);
    sent[0]?.release('v1');
    expect(await Promise.all(first)).toEqual(['v1', 'v1']);
    await tick();
    expect(sent).toHaveLength(2);
    sent[1]?.release('v2');
    expect(await second).toBe('v2');
  });

  it('does not make one key wait for another', async () => {
    const { sent, send } = controlledStatements<string>();
    const coalescer = createCoalescer((key: string) => send(key));
    const slow = coalescer.run('expensive search');
    const fast = coalescer.run('page-1');
    await tick();
    expect(sent.map((entry) => entry.args)).toEqual(['expensive search', 'page-1']);
    sent[1]?.release('page');
    expect(await fast).toBe('page');
    sent[0]?.release('results');
    expect(await slow).toBe('results');
  });

  it('passes a failure to the reads that shared the statement, then starts afresh', async () => {
    const { sent, send } = controlledStatements<string>();
    const coalescer = createCoalescer((key: string) => send(key));
    const failing = coalescer.run('k');
    await tick();
    sent[0]?.fail(new Error('timeout'));
    await expect(failing).rejects.toThrow('timeout');
    const again = coalescer.run('k');
    await tick();
    sent[1]?.release('ok');
    expect(await again).toBe('ok');
  });
});

describe('inFlight', () => {
  it('lets a second statement leave while the first answers, never a third, and keeps them fresh', async () => {
    const { sent, send } = controlledStatements<Map<number, number>>();
    const loader = createBatchLoader((keys: number[]) => send(keys), { inFlight: 2 });
    const first = loader.load([1]);
    await tick();
    const second = loader.load([2]);
    await tick();
    const third = [loader.load([3]), loader.load([1])];
    await tick();
    expect(sent.map((entry) => entry.args)).toEqual([[1], [2]]);
    sent[0]?.release(new Map([[1, 10]]));
    expect((await first).get(1)).toBe(10);
    await tick();
    // The third batch left only once a flight landed, and carries what was asked meanwhile.
    expect(sent.map((entry) => entry.args)).toEqual([[1], [2], [3, 1]]);
    sent[1]?.release(new Map([[2, 20]]));
    sent[2]?.release(
      new Map([
        [3, 30],
        [1, 11],
      ]),
    );
    expect((await second).get(2)).toBe(20);
    const [three, one] = await Promise.all(third);
    expect(three?.get(3)).toBe(30);
    expect(one?.get(1)).toBe(11);
  });
});
