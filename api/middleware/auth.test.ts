import { SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ORIGINAL_GATEWAY_JWT_SECRET } from '../../infra/config.js';
import { isAppError } from '../../lib/errors.js';
import { createTokenVerifier, type TokenPolicy } from './auth.js';

const SECRET = 'unit-test-secret-of-some-length';
const DAY = 86_400;
const now = () => Math.floor(Date.now() / 1000);

function sign(claims: Record<string, unknown>, secret = SECRET): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(secret));
}

async function verdict(token: string, policy: Partial<TokenPolicy> = {}): Promise<string> {
  const verifier = createTokenVerifier({ secret: SECRET, maxAgeMs: DAY * 1000, ...policy });
  return verifier.verify(token).then(
    (user) => `user ${user.id}${user.admin ? ' (admin)' : ''}`,
    (error: unknown) => (isAppError(error) ? `${error.code}: ${error.message}` : String(error)),
  );
}

describe('token lifetime', () => {
  it('accepts what the original tokengen mints: user_id, 24 h, issuer, with or without iat', async () => {
    const t = now();
    expect(await verdict(await sign({ user_id: 42, iss: 'ecommerce-platform', iat: t, exp: t + DAY }))).toBe(
      'user 42',
    );
    expect(await verdict(await sign({ user_id: 42, role: 'admin', exp: t + 3600 }))).toBe('user 42 (admin)');
  });

  it('refuses a token valid for longer than JWT_MAX_AGE from now, such as a 100-year one', async () => {
    const t = now();
    expect(
      await verdict(await sign({ user_id: 1, role: 'admin', iat: t, exp: t + 100 * 365 * DAY })),
    ).toMatch(/^unauthenticated: token lifetime exceeds/);
    expect(await verdict(await sign({ user_id: 1, exp: t + 2 * DAY }))).toMatch(/^unauthenticated/);
    expect(await verdict(await sign({ user_id: 1, exp: t + 2 * DAY }), { maxAgeMs: 3 * DAY * 1000 })).toBe(
      'user 1',
    );
  });

  it('refuses a token issued longer ago than JWT_MAX_AGE, or in the future', async () => {
    const t = now();
    expect(await verdict(await sign({ user_id: 1, iat: t - 2 * DAY, exp: t + 600 }))).toMatch(
      /issued too long ago/,
    );
    expect(await verdict(await sign({ user_id: 1, iat: t + 3600, exp: t + 7200 }))).toMatch(/in the future/);
    expect(await verdict(await sign({ user_id: 1, iat: 'yesterday', exp: t + 600 }))).toMatch(
      /^unauthenticated/,
    );
    // A minute of clock skew between machines is tolerated.
    expect(await verdict(await sign({ user_id: 1, iat: t + 30, exp: t + 600 }))).toBe('user 1');
  });

  it('grants nothing to a token signed with the published secret of the original gateway', async () => {
    const forged = await sign({ user_id: 1, role: 'admin', exp: now() + 600 }, ORIGINAL_GATEWAY_JWT_SECRET);
    expect(await verdict(forged)).toBe('unauthenticated: invalid token');
  });
});

describe('issuer and audience', () => {
  const policy = { issuer: 'https://shop.example', audience: 'commerce-api' };

  it('are required when configured', async () => {
    const exp = now() + 600;
    expect(
      await verdict(await sign({ user_id: 1, iss: policy.issuer, aud: policy.audience, exp }), policy),
    ).toBe('user 1');
    for (const claims of [
      { user_id: 1, exp },
      { user_id: 1, iss: policy.issuer, exp },
      { user_id: 1, iss: 'https://evil.example', aud: policy.audience, exp },
      { user_id: 1, iss: policy.issuer, aud: 'another-api', exp },
    ]) {
      expect(await verdict(await sign(claims), policy)).toBe('unauthenticated: invalid token');
    }
  });

  it('are not checked when not configured', async () => {
    expect(await verdict(await sign({ user_id: 1, iss: 'anyone', aud: 'anything', exp: now() + 600 }))).toBe(
      'user 1',
    );
  });
});

describe('verified tokens remembered', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('stop being accepted at the second they would be refused: exp, or iat + JWT_MAX_AGE', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const t = now();
    const verifier = createTokenVerifier({ secret: SECRET, maxAgeMs: DAY * 1000 });
    const outcome = (token: string) =>
      verifier.verify(token).then(
        (user) => `user ${user.id}`,
        (error: unknown) => (isAppError(error) ? error.message : String(error)),
      );
    const expiring = await sign({ user_id: 7, exp: t + 600 });
    const ageing = await sign({ user_id: 8, iat: t - DAY + 100, exp: t + 600 });
    expect(await outcome(expiring)).toBe('user 7');
    expect(await outcome(ageing)).toBe('user 8');

    vi.setSystemTime((t + 100) * 1000);
    expect(await outcome(ageing)).toBe('user 8');
    vi.setSystemTime((t + 101) * 1000);
    expect(await outcome(ageing)).toBe('token was issued too long ago or in the future');

    // exp plus the minute of tolerated clock skew, then no more.
    vi.setSystemTime((t + 659) * 1000);
    expect(await outcome(expiring)).toBe('user 7');
    vi.setSystemTime((t + 660) * 1000);
    expect(await outcome(expiring)).toBe('token has expired');
  });

  it('are remembered per verifier: another secret still refuses a token this one accepted', async () => {
    const token = await sign({ user_id: 9, exp: now() + 600 });
    const mine = createTokenVerifier({ secret: SECRET, maxAgeMs: DAY * 1000 });
    const other = createTokenVerifier({ secret: `${SECRET}-rotated`, maxAgeMs: DAY * 1000 });
    expect((await mine.verify(token)).id).toBe(9);
    await expect(other.verify(token)).rejects.toThrow('invalid token');
  });
});
