import { Writable } from 'node:stream';
import type { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLineWriter, createLogger, redactSecrets } from './logger.js';

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

  it('writes a hand-rendered line exactly as pino would, in the same stream, only at enabled levels', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    const logger = createLogger({ level: 'info', name: 'api' }, sink as unknown as pino.DestinationStream);
    const write = createLineWriter(logger, 'request');
    const fields = { request_id: 'r"1', method: 'GET', path: '/a\\b', status: 200, duration_ms: 1.5 };
    logger.info(fields, 'request');
    write('info', '"request_id":"r\\"1","method":"GET","path":"/a\\\\b","status":200,"duration_ms":1.5');
    logger.error(fields, 'request');
    write('error', '"request_id":"r\\"1","method":"GET","path":"/a\\\\b","status":200,"duration_ms":1.5');
    const withoutTime = (line: string) => line.replace(/"time":"[^"]+"/, '"time":""');
    expect(lines).toHaveLength(4);
    expect(withoutTime(lines[1] as string)).toBe(withoutTime(lines[0] as string));
    expect(withoutTime(lines[3] as string)).toBe(withoutTime(lines[2] as string));
    expect(JSON.parse(lines[1] as string)).toMatchObject({ level: 'info', service: 'api', path: '/a\\b' });

    lines.length = 0;
    const quiet = createLogger({ level: 'error' }, sink as unknown as pino.DestinationStream);
    const writeQuiet = createLineWriter(quiet, 'request');
    writeQuiet('info', '"status":200');
    writeQuiet('error', '"status":500');
    expect(lines).toEqual([
      expect.stringMatching(/^\{"level":"error","time":"[^"]+","status":500,"msg":"request"\}$/),
    ]);
  });
});
