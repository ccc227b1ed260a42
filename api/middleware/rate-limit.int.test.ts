import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, userToken } from '../../test/support/app.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.js';
import { expectProblem } from '../../test/support/problem.js';
import {
  connectTestRedis,
  type OwnRedis,
  redisServerAvailable,
  startOwnRedis,
  userIdSource,
  waitFor,
} from '../../test/support/redis.js';
import { createRateLimiter } from './rate-limit.js';

let db: TestDatabase;
const nextUser = userIdSource();

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.destroy();
});

function appLimitedBy(redis: Redis | undefined, rps = 2, burst = 4) {
  return createTestApp({ db, redis, rateLimiter: createRateLimiter({ rps, burst, redis }) }).app;
}

async function cartCalls(
  app: ReturnType<typeof appLimitedBy>,
  userId: number,
  count: number,
): Promise<Response[]> {
  const headers = bearer(await userToken(userId));
  const responses: Response[] = [];
  for (let i = 0; i < count; i++) responses.push(await app.request('/api/v1/cart', { headers }));
  return responses;
}

describe('rate limits', () => {
  it('answer 429 with Retry-After and RateLimit-* once a user spent the burst, and only for that user', async () => {
    const app = appLimitedBy(undefined);
    const [alice, bob] = [nextUser(), nextUser()];
    const responses = await cartCalls(app, alice, 5);
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 429]);
    expect(responses[0]?.headers.get('ratelimit-limit')).toBe('2');
    expect(responses[0]?.headers.get('ratelimit-remaining')).toBe('1');
    const refused = responses[4] as Response;
    await expectProblem(refused, 429, 'rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('ratelimit-remaining')).toBe('0');
    // Another user has a budget of their own.
    expect((await cartCalls(app, bob, 1))[0]?.status).toBe(200);
    // Probes are never limited.
    for (let i = 0; i < 10; i++) expect((await app.request('/health')).status).toBe(200);
  });

  it('key anonymous callers by address, separately from users', async () => {
    const app = appLimitedBy(undefined, 1, 2);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await app.request('/api/v1/products?limit=1')).status);
    expect(statuses).toEqual([200, 200, 429]);
    expect((await cartCalls(app, nextUser(), 1))[0]?.status).toBe(200);
  });

  it('share one budget between two API instances on one Redis', async () => {
    const redis = connectTestRedis();
    if (!redis) throw new Error('this test needs Redis (REQUIRE_REDIS in CI)');
    try {
      await waitFor('Redis to connect', () => redis.status === 'ready');
      const [first, second] = [appLimitedBy(redis), appLimitedBy(redis)];
      const user = nextUser();
      const statuses = [
        ...(await cartCalls(first, user, 2)),
        ...(await cartCalls(second, user, 2)),
        ...(await cartCalls(first, user, 1)),
        ...(await cartCalls(second, user, 1)),
      ].map((r) => r.status);
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    } finally {
      redis.disconnect();
    }
  });

  it('fall back to limits in the process while Redis is away, and never answer 5xx for it', async () => {
    if (!(await redisServerAvailable())) throw new Error('this test needs redis-server installed');
    let own: OwnRedis | undefined;
    const redis = await (async () => {
      own = await startOwnRedis();
      return connectTestRedis(own.url);
    })();
    try {
      const app = appLimitedBy(redis);
      await own?.kill();
      const user = nextUser();
      const statuses = (await cartCalls(app, user, 6)).map((r) => r.status);
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
      await own?.start();
    } finally {
      redis?.disconnect();
      await own?.destroy();
    }
  });
});
