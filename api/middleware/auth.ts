import type { MiddlewareHandler } from 'hono';
import { errors as joseErrors, jwtVerify } from 'jose';
import { LRUCache } from 'lru-cache';
import { AppError } from '../../lib/errors.js';
import { isPositiveId } from '../../lib/id-checks.js';
import type { AppEnv, AuthUser } from '../context.js';

export interface TokenVerifier {
  verify(token: string): Promise<AuthUser>;
}

const NUMERIC_SUB = /^[1-9][0-9]{0,15}$/;
/** Clocks of the minting machine and this one may differ this much. */
const CLOCK_TOLERANCE_S = 60;

export interface TokenPolicy {
  secret: string;
  /** JWT_MAX_AGE: no token is accepted longer than this after it was issued, or for longer than this from now. */
  maxAgeMs: number;
  /** JWT_ISSUER / JWT_AUDIENCE: required `iss` / `aud` when set. */
  issuer?: string | undefined;
  audience?: string | undefined;
}

/** Verified tokens remembered at once; a shopper's token repeats on every request of a session. */
const VERIFIED_TOKENS_MAX = 10_000;

interface Verified {
  user: AuthUser;
  /** Epoch seconds from which this token is refused (its `exp`, or `iat` + max age, whichever is first). */
  refusedFrom: number;
}

/**
 * HS256 bearer tokens as the contract defines them: `exp` required, user id from the integer
 * `user_id` claim (the original gateway's tokengen) or a numeric-string `sub`, admin by `role`.
 * Lifetime is bounded by `maxAgeMs` both ways: a token issued (`iat`) longer ago is refused, and
 * so is one whose `exp` lies further ahead (a "100-year" token), with or without `iat`.
 *
 * A token that verified is remembered (bounded, least recently used first out) until the first
 * second at which it would be refused, so a session's requests pay the signature check once; the
 * HMAC key is imported once. Refusals are never remembered.
 */
export function createTokenVerifier(policy: TokenPolicy): TokenVerifier {
  const key = crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(policy.secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['verify'],
  );
  const maxAgeS = Math.floor(policy.maxAgeMs / 1000);
  const verified = new LRUCache<string, Verified>({ max: VERIFIED_TOKENS_MAX });

  async function check(token: string, now: number): Promise<Verified> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, await key, {
        algorithms: ['HS256'],
        requiredClaims: ['exp'],
        clockTolerance: CLOCK_TOLERANCE_S,
        ...(policy.issuer ? { issuer: policy.issuer } : {}),
        ...(policy.audience ? { audience: policy.audience } : {}),
      }));
    } catch (error) {
      const detail = error instanceof joseErrors.JWTExpired ? 'token has expired' : 'invalid token';
      throw new AppError('unauthenticated', detail, { cause: error });
    }
    const { exp, iat } = payload as { exp: number; iat?: unknown };
    if (exp - now > maxAgeS + CLOCK_TOLERANCE_S) {
      throw new AppError('unauthenticated', 'token lifetime exceeds the maximum allowed');
    }
    if (
      iat !== undefined &&
      (typeof iat !== 'number' || iat > now + CLOCK_TOLERANCE_S || now - iat > maxAgeS)
    ) {
      throw new AppError('unauthenticated', 'token was issued too long ago or in the future');
    }
    const id = userIdOf(payload);
    if (id === undefined) throw new AppError('unauthenticated', 'token does not name a valid user');
    // jose refuses once now >= exp + tolerance; the check above once now > iat + max age.
    const refusedFrom = Math.min(
      Math.ceil(exp + CLOCK_TOLERANCE_S),
      typeof iat === 'number' ? Math.floor(iat + maxAgeS) + 1 : Number.POSITIVE_INFINITY,
    );
    return { user: { id, admin: payload.role === 'admin' }, refusedFrom };
  }

  return {
    async verify(token) {
      const now = Math.floor(Date.now() / 1000);
      const known = verified.get(token);
      if (known && now < known.refusedFrom) return known.user;
      if (known) verified.delete(token);
      const fresh = await check(token, now);
      verified.set(token, fresh);
      return fresh.user;
    },
  };
}

function userIdOf(payload: Record<string, unknown>): number | undefined {
  const claim = payload.user_id;
  if (claim !== undefined) {
    return isPositiveId(claim) ? claim : undefined;
  }
  const sub = payload.sub;
  if (typeof sub === 'string' && NUMERIC_SUB.test(sub)) {
    const id = Number(sub);
    return Number.isSafeInteger(id) ? id : undefined;
  }
  return undefined;
}

function bearerToken(header: string | undefined): string {
  if (!header) throw new AppError('unauthenticated', 'missing authorization header');
  const match = /^Bearer +(\S+)\s*$/i.exec(header);
  if (!match?.[1]) throw new AppError('unauthenticated', 'authorization header must be "Bearer <token>"');
  return match[1];
}

/** Requires a valid token; with `admin: true` also the admin role (403 otherwise). */
export function authenticate(
  verifier: TokenVerifier,
  options: { admin?: boolean } = {},
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const user = await verifier.verify(bearerToken(c.req.header('authorization')));
    c.set('user', user);
    if (options.admin && !user.admin)
      throw new AppError('forbidden', 'this operation requires the admin role');
    await next();
  };
}
