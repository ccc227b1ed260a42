import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../../lib/errors.js';
import type { AppEnv } from '../context.js';
import { signWebhook, verifyWebhookSignature } from './webhook-signature.js';

const SECRET = 'whsec_unit_test_secret';

function app() {
  const hono = new Hono<AppEnv>();
  hono.post('/hook', verifyWebhookSignature(SECRET), async (c) => c.json({ body: await c.req.text() }));
  hono.onError((error, c) => c.json({ code: isAppError(error) ? error.code : 'internal_error' }, 401));
  return hono;
}

const post = (body: string, signature?: string) =>
  app().request('/hook', { method: 'POST', body, headers: signature ? { 'X-Signature': signature } : {} });

describe('webhook signature', () => {
  const body = '{"checkout_id":"x","event":"payment.succeeded"}';

  it('lets through the exact body signed with the secret, and the body is still readable', async () => {
    const response = await post(body, signWebhook(SECRET, body));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ body });
    expect(
      (await post(body, signWebhook(SECRET, body).toUpperCase().replace('SHA256', 'sha256'))).status,
    ).toBe(200);
  });

  it.each([
    ['no signature', undefined],
    ['another secret', signWebhook('whsec_other_secret_value', body)],
    ['another body', signWebhook(SECRET, `${body} `)],
    ['a truncated digest', signWebhook(SECRET, body).slice(0, -2)],
    ['another scheme', signWebhook(SECRET, body).replace('sha256=', 'sha1=')],
  ])('refuses %s with unauthenticated', async (_, signature) => {
    const response = await post(body, signature);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ code: 'unauthenticated' });
  });
});
