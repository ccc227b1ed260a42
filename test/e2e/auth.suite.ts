import { describe, expect, it } from 'vitest';
import { mintToken, unsignedToken } from '../support/black-box.js';
import type { E2E } from './harness.js';
import { expectOk, expectProblem } from './harness.js';

/** The original gateway's published secret: a platform started by `npm start` must not accept it. */
const ORIGINAL_GATEWAY_SECRET = 'Yn8x85spEjIXQnGlmaWAqbX9I6RS3ts2TBXUXQoyi2g=';

/** Bearer tokens as the contract defines them, and who may call what. */
export function authSuite(e2e: () => E2E): void {
  describe('authentication and authorization', () => {
    it('answers public routes without a token', async () => {
      const { api } = e2e();
      expect(expectOk(await api.get('/health'))).toEqual({ status: 'ok' });
      expect(expectOk(await api.get('/api/v1/products/1')).id).toBe(1);
    });

    it('refuses a missing, malformed, unsigned, mis-signed, expired or nameless token with 401', async () => {
      const { api, secrets } = e2e();
      const secret = secrets.jwtSecret;
      const now = Math.floor(Date.now() / 1000);
      const refused: Array<[string, Record<string, string>]> = [
        ['no header', {}],
        ['not Bearer', { Authorization: `Token ${await mintToken(secret, { userId: 7 })}` }],
        ['garbage', { Authorization: 'Bearer not.a.jwt' }],
        ['alg none', { Authorization: `Bearer ${unsignedToken({ user_id: 7, exp: now + 60 })}` }],
        ['HS512', { Authorization: `Bearer ${await mintToken(secret, { userId: 7, alg: 'HS512' })}` }],
        ['no exp', { Authorization: `Bearer ${await mintToken(secret, { userId: 7, noExpiry: true })}` }],
        [
          'expired',
          { Authorization: `Bearer ${await mintToken(secret, { userId: 7, expiresInSeconds: -3600 })}` },
        ],
        [
          'other secret',
          { Authorization: `Bearer ${await mintToken('another-secret-0123456789', { userId: 7 })}` },
        ],
        [
          "the original gateway's published secret",
          { Authorization: `Bearer ${await mintToken(ORIGINAL_GATEWAY_SECRET, { userId: 7, admin: true })}` },
        ],
        ['user_id as a string', { Authorization: `Bearer ${await mintToken(secret, { userId: '7' })}` }],
        ['user_id 0', { Authorization: `Bearer ${await mintToken(secret, { userId: 0 })}` }],
        ['user_id negative', { Authorization: `Bearer ${await mintToken(secret, { userId: -7 })}` }],
        ['no user', { Authorization: `Bearer ${await mintToken(secret, {})}` }],
      ];
      for (const [why, headers] of refused) {
        const answer = await api.get('/api/v1/cart', { headers });
        expect(answer.status, why).toBe(401);
        expectProblem(answer, 401, 'unauthenticated');
      }
    });

    it('accepts the integer user_id claim (tokengen) and a numeric-string sub', async () => {
      const { api, secrets } = e2e();
      const user = e2e().newUser();
      const viaClaim = expectOk(await api.get('/api/v1/cart', { token: await e2e().token(user) }));
      expect(viaClaim).toMatchObject({ id: null, user_id: user, cart: [], total_items: 0, total_cents: 0 });
      const viaSub = expectOk(
        await api.get('/api/v1/cart', { token: await mintToken(secrets.jwtSecret, { sub: String(user) }) }),
      );
      expect(viaSub.user_id).toBe(user);
    });

    it('gives admin routes to role admin only: 403 forbidden for users, 401 without a token', async () => {
      const { api } = e2e();
      const token = await e2e().token(e2e().newUser());
      const uuid = '00000000-0000-4000-8000-000000000000';
      const adminCalls: Array<[string, string, unknown]> = [
        ['POST', '/api/v1/products', { name: 'Nope', price_cents: 1 }],
        ['PATCH', '/api/v1/products/1', { price_cents: 1 }],
        ['DELETE', '/api/v1/products/1', undefined],
        ['GET', '/api/v1/inventory/1', undefined],
        ['PUT', '/api/v1/inventory/1', { on_hand: 1 }],
        ['POST', `/api/v1/orders/${uuid}/ship`, {}],
        ['POST', `/api/v1/orders/${uuid}/deliver`, undefined],
      ];
      for (const [method, path, json] of adminCalls) {
        expectProblem(await api.call(method, path, { token, json }), 403, 'forbidden');
        expectProblem(await api.call(method, path, { json }), 401, 'unauthenticated');
      }
      // Nothing changed: the laptop still costs what the seed says.
      expect(expectOk(await api.get('/api/v1/products/1')).price_cents).toBe(129999);
    });
  });
}
