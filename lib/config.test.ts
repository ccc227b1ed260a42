import { describe, expect, it } from 'vitest';
import { ConfigError, DEV_JWT_SECRET, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has development defaults for everything', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      env: 'development',
      http: { port: 8080 },
      database: { url: undefined, poolMax: 10 },
      redis: { url: undefined },
      temporal: { address: undefined, namespace: 'default', taskQueuePrefix: '', uiPort: 8233, port: 7233 },
      auth: { jwtSecret: DEV_JWT_SECRET },
      payments: { failureRate: 0 },
      checkout: { reservationTtlMs: 300_000, waitMs: 10_000 },
      rateLimit: { rps: 10, burst: 20 },
      cart: { cacheTtlMs: 900_000, cacheJitterMs: 300_000, idleTtlMs: 90 * 86_400_000 },
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.http)).toBe(true);
  });

  it('reads the contract variables', () => {
    const config = loadConfig({
      HTTP_PORT: '9090',
      DATABASE_URL: 'postgres://u:p@db:5432/shop',
      REDIS_URL: 'redis://cache:6379',
      TEMPORAL_ADDRESS: 'temporal:7233',
      TEMPORAL_NAMESPACE: 'shop',
      RESERVATION_TTL: '30s',
      PAYMENT_FAILURE_RATE: '0.05',
      RATE_LIMIT_RPS: '0',
      CHECKOUT_WAIT_MS: '2500',
    });
    expect(config.http.port).toBe(9090);
    expect(config.database.url).toBe('postgres://u:p@db:5432/shop');
    expect(config.redis.url).toBe('redis://cache:6379');
    expect(config.temporal.address).toBe('temporal:7233');
    expect(config.temporal.namespace).toBe('shop');
    expect(config.checkout.reservationTtlMs).toBe(30_000);
    expect(config.payments.failureRate).toBe(0.05);
    expect(config.rateLimit.rps).toBe(0);
    expect(config.checkout.waitMs).toBe(2500);
  });

  it('treats empty optional URLs as unset', () => {
    expect(loadConfig({ REDIS_URL: '', DATABASE_URL: ' ' })).toMatchObject({
      redis: { url: undefined },
      database: { url: undefined },
    });
  });

  it('lists every bad variable at once', () => {
    let error: unknown;
    try {
      loadConfig({
        HTTP_PORT: 'eighty',
        DATABASE_URL: 'mysql://x',
        RESERVATION_TTL: 'soon',
        PAYMENT_FAILURE_RATE: '2',
        TEMPORAL_ADDRESS: 'no-port',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of [
      'HTTP_PORT',
      'DATABASE_URL',
      'RESERVATION_TTL',
      'PAYMENT_FAILURE_RATE',
      'TEMPORAL_ADDRESS',
    ]) {
      expect(problems).toContain(name);
    }
    expect((error as ConfigError).message).toMatch(/^Invalid configuration:\n {2}- /);
  });

  it('refuses development secrets in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET: must be set in production/);
    expect(
      loadConfig({
        NODE_ENV: 'production',
        JWT_SECRET: 'a-real-secret-of-some-length',
        PAYMENT_WEBHOOK_SECRET: 'another-real-secret-value',
      }).env,
    ).toBe('production');
  });
});
