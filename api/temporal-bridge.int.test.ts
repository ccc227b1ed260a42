import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import type { DestinationStream } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../infra/logger.js';
import { AppError } from '../lib/errors.js';
import { startTemporalThread, type TemporalBridge } from './temporal-bridge.js';

const logger = createLogger({ level: 'silent' });
const UNKNOWN_CHECKOUT = '00000000-0000-4000-8000-000000000000';

describe('the Temporal client in its own thread', () => {
  let bridge: TemporalBridge;
  beforeAll(() => {
    bridge = startTemporalThread({
      address: inject('temporalAddress'),
      namespace: 'default',
      taskQueuePrefix: `tb${Date.now().toString(36)}`,
      logger,
    });
  });
  afterAll(() => bridge?.close());

  it('answers the ports as the in-process client would: values, and contract errors as AppError', async () => {
    await expect(bridge.probe.check()).resolves.toBeUndefined();
    await expect(bridge.saga.status(UNKNOWN_CHECKOUT)).resolves.toBeUndefined();
    const refused = await bridge.saga.cancel(UNKNOWN_CHECKOUT, 'changed my mind', 1_000).catch((e) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ code: 'checkout_not_cancellable', status: 409 });
  });

  it('fails fast with 503 and Retry-After while Temporal is unreachable, and after close', async () => {
    const away = startTemporalThread({
      address: '127.0.0.1:9',
      namespace: 'default',
      taskQueuePrefix: 'x',
      logger,
    });
    try {
      const started = performance.now();
      const error = await away.probe.check().catch((e) => e);
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({ code: 'service_unavailable', headers: { 'Retry-After': '1' } });
      await expect(away.saga.cancel(UNKNOWN_CHECKOUT, undefined, 1_000)).rejects.toMatchObject({
        code: 'service_unavailable',
      });
    } finally {
      await away.close();
    }
    await expect(away.probe.check()).rejects.toMatchObject({ code: 'service_unavailable' });
  });

  it('fails the calls of a thread that died with 503, and starts another a second later', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const exits = () => lines.filter((line) => line.includes('thread exited')).length;
    const dying = startTemporalThread({
      address: inject('temporalAddress'),
      namespace: 'default',
      taskQueuePrefix: 'x',
      logger: createLogger({ level: 'info' }, sink as unknown as DestinationStream),
      threadUrl: new URL('../test/fixtures/temporal-thread-exits.ts', import.meta.url),
    });
    try {
      await expect(dying.probe.check()).rejects.toMatchObject({ code: 'service_unavailable' });
      expect(exits()).toBe(1);
      // Within the second: refused at once, no thread started.
      await expect(dying.saga.status(UNKNOWN_CHECKOUT)).rejects.toMatchObject({
        code: 'service_unavailable',
      });
      expect(exits()).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      // After it: a new thread takes the call (and dies at it too).
      await expect(dying.probe.check()).rejects.toMatchObject({ code: 'service_unavailable' });
      expect(exits()).toBe(2);
    } finally {
      await dying.close();
    }
  });

  it('keeps promise hooks off the calling thread, which the in-process client turns on', async () => {
    // In a fresh process: after an await, executionAsyncId() is 0 unless promise hooks are on.
    const probe = (mode: string) =>
      promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', 'test/fixtures/temporal-hooks-probe.ts', mode, inject('temporalAddress')],
        { cwd: process.cwd(), timeout: 60_000 },
      );
    expect(JSON.parse((await probe('thread')).stdout)).toEqual({ before: 0, after: 0 });
    const inProcess = JSON.parse((await probe('in-process')).stdout) as { before: number; after: number };
    expect(inProcess.before).toBe(0);
    expect(inProcess.after).toBeGreaterThan(0);
  });
});
