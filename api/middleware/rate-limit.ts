import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import type { Redis } from 'ioredis';
import {
  BurstyRateLimiter,
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import { AppError } from '../../lib/errors.js';
import type { AppEnv } from '../context.js';

export interface RateLimitOptions {
  /** RATE_LIMIT_RPS: the sustained rate per caller; 0 switches limiting off. */
  rps: number;
  /** RATE_LIMIT_BURST: how many requests a caller may make at once. */
  burst: number;
  /** Shared by every API replica when present; limits are per process while it is away or absent. */
  redis: Redis | undefined;
}

export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the caller's budget has recovered (RateLimit-Reset; Retry-After when refused). */
  resetSeconds: number;
}

export interface RateLimiter {
  take(key: string): Promise<RateLimitDecision>;
}

/** The burst allowance refills over this many seconds. */
const BURST_WINDOW_S = 10;

/**
 * Per-caller limits of the contract: `rps` requests a second with bursts up to `burst`, shared
 * through Redis by every replica. rate-limiter-flexible's BurstyRateLimiter (the library's
 * recommended form of a token bucket): a budget of `rps` per second, and when it is spent, an
 * allowance of `burst - rps` more per 10 seconds. Each limiter keeps an in-process insurance
 * limiter that takes over, per replica, while Redis cannot answer. Undefined when `rps` is 0.
 */
export function createRateLimiter({ rps, burst, redis }: RateLimitOptions): RateLimiter | undefined {
  if (rps <= 0) return undefined;
  const build = (keyPrefix: string, points: number, duration: number): RateLimiterAbstract => {
    const memory = new RateLimiterMemory({ keyPrefix, points, duration });
    return redis
      ? new RateLimiterRedis({ storeClient: redis, keyPrefix, points, duration, insuranceLimiter: memory })
      : memory;
  };
  const steady = build('rl:rate', rps, 1);
  const extra = burst - rps;
  const limiter =
    extra > 0 ? new BurstyRateLimiter(steady, build('rl:burst', extra, BURST_WINDOW_S)) : steady;
  const decision = (allowed: boolean, res: RateLimiterRes): RateLimitDecision => ({
    allowed,
    limit: rps,
    remaining: Math.max(0, res.remainingPoints),
    resetSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
  });
  return {
    async take(key) {
      try {
        return decision(true, await limiter.consume(key));
      } catch (refusal) {
        if (refusal instanceof RateLimiterRes) return decision(false, refusal);
        throw refusal;
      }
    },
  };
}

/** The caller's network address; `unknown` where there is no socket (in-process requests in tests). */
function clientAddress(c: Context<AppEnv>): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Spends one request of the caller's budget: the authenticated user's when there is one (set by
 * `authenticate`, which runs first), else the client address's. Sets `RateLimit-*` headers;
 * answers 429 `rate_limited` with `Retry-After` once the budget is spent.
 */
export function rateLimit(limiter: RateLimiter): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const user = c.get('user');
    const verdict = await limiter.take(user ? `user:${user.id}` : `ip:${clientAddress(c)}`);
    const headers = {
      'RateLimit-Limit': String(verdict.limit),
      'RateLimit-Remaining': String(verdict.remaining),
      'RateLimit-Reset': String(verdict.resetSeconds),
    };
    if (!verdict.allowed) {
      throw new AppError('rate_limited', `too many requests; retry in ${verdict.resetSeconds} s`, {
        headers: { ...headers, 'Retry-After': String(verdict.resetSeconds) },
      });
    }
    await next();
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  };
}
