import { createHmac, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { AppError } from '../../lib/errors.js';
import type { AppEnv } from '../context.js';

const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;

/** `sha256=<hex>` of the HMAC-SHA256 of `body` with `secret`: what a provider sends in `X-Signature`. */
export function signWebhook(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Accepts a request only when `X-Signature` is the HMAC of its exact raw body: checked before
 * the body is parsed, in constant time. Anything else is 401 and nothing else happens.
 */
export function verifyWebhookSignature(secret: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const match = SIGNATURE.exec(c.req.header('x-signature') ?? '');
    const body = await c.req.text();
    const expected = createHmac('sha256', secret).update(body).digest();
    const given = match?.[1] ? Buffer.from(match[1], 'hex') : undefined;
    if (!given || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new AppError('unauthenticated', 'the webhook signature does not match its body');
    }
    await next();
  };
}
