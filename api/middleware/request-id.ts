import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../../infra/logger.js';
import type { AppEnv } from '../context.js';
import { presetHeader } from './security-headers.js';

const ACCEPTABLE = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * Echoes a well-formed incoming `X-Request-ID` or generates one, exposes it to handlers
 * and logs, and sets it on every response, errors included (`presetHeader`).
 */
export function requestId(options: { logger: Logger }): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const id = incoming && ACCEPTABLE.test(incoming) ? incoming : randomUUID();
    c.set('requestId', id);
    c.set('logger', options.logger.child({ request_id: id }));
    c.set('user', undefined);
    presetHeader(c, 'X-Request-ID', id);
    await next();
  };
}
