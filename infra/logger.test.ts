import { Writable } from 'node:stream';
import type { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger, redactSecrets } from './logger.js';

describe('redactSecrets', () => {
  it('censors secret-looking fields at the top and two plain objects deep, in any case', () => {
    const line = {
      token: 'eyJ.top',
      Authorization: 'Bearer abc',
      user_id: 7,
      req: { headers: { authorization: 'Bearer def', accept: 'application/json' } },
      payment: { payment_token: 'tok_visa', amount: 100, nested: { deeper: { secret: 'kept at depth 3' } } },
    };
    expect(redactSecrets(line)).toEqual({
      token: '[redacted]',
      Authorization: '[redacted]',
      user_id: 7,
      req: { headers: { authorization: '[redacted]', accept: 'application/json' } },
      payment: {
        payment_token: '[redacted]',
        amount: 100,
        nested: { deeper: { secret: 'kept at depth 3' } },
      },
    });
    // The caller's object is untouched.
    expect(line.token).toBe('eyJ.top');
    expect(line.req.headers.authorization).toBe('Bearer def');
  });

  it('returns the very object when there is nothing to censor, and leaves class instances alone', () => {
    const clean = { route: '/api/v1/products', status: 200, at: new Date(0), nested: { ok: true } };
    expect(redactSecrets(clean)).toBe(clean);
    const error = Object.assign(new Error('boom'), { secret: 'in an error' });
    expect(redactSecrets({ err: error }).err).toBe(error);
  });
});

describe('createLogger', () => {
  it('writes JSON lines with level names and ISO times, secret-looking fields censored', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).trim().split('\n'));
        done();
      },
    });
    const logger = createLogger({ level: 'info', name: 'api' }, sink as unknown as pino.DestinationStream);
    logger.child({ request_id: 'r1' }).info({ signature: 'sig', jwtSecret: 'shh', status: 200 }, 'request');
    const [line] = lines.map((text) => JSON.parse(text) as Record<string, unknown>);
    expect(line).toMatchObject({
      level: 'info',
      service: 'api',
      request_id: 'r1',
      jwtSecret: '[redacted]',
      signature: '[redacted]',
      status: 200,
      msg: 'request',
    });
    expect(line?.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
});
