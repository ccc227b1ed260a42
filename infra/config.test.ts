import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, ORIGINAL_GATEWAY_JWT_SECRET } from './config.js';

describe('loadConfig', () => {
  it('has development defaults for everything', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      env: 'development',
      http: {
        host: '127.0.0.1',
        port: 8080,
        requestTimeoutMs: 30_000,
        corsOrigins: [],
        workerMetricsPort: 9464,
      },
      database: { url: undefined, poolMax: 10, statementTimeoutMs: 10_000, lockTimeoutMs: 3_000 },
      redis: { url: undefined },
      temporal: { address: undefined, namespace: 'default', taskQueuePrefix: '', uiPort: 8233, port: 7233 },
      auth: { jwtSecret: undefined, maxAgeMs: 86_400_000, issuer: undefined, audience: undefined },
      payments: { webhookSecret: undefined, failureRate: 0 },
      checkout: { reservationTtlMs: 300_000, waitMs: 10_000 },
      rateLimit: { rps: 10, burst: 20 },
      cart: { cacheTtlMs: 900_000, cacheJitterMs: 300_000, idleTtlMs: 90 * 86_400_000 },
      orders: { shipWindowMs: 30 * 86_400_000, deliveryWindowMs: 60 * 86_400_000 },
      tracing: { otlpEndpoint: undefined },
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

  it('refuses production without its own secrets, and never with the published one', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET: must be set in production/);
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/PAYMENT_WEBHOOK_SECRET: must be set/);
    expect(() =>
      loadConfig({
        NODE_ENV: 'production',
        JWT_SECRET: ORIGINAL_GATEWAY_JWT_SECRET,
        PAYMENT_WEBHOOK_SECRET: 'another-real-secret-value',
      }),
    ).toThrow(/published secret cannot be used in production/);
    expect(
      loadConfig({
        NODE_ENV: 'production',
        JWT_SECRET: 'a-real-secret-of-some-length',
        PAYMENT_WEBHOOK_SECRET: 'another-real-secret-value',
      }).env,
    ).toBe('production');
  });

  it.each([
    ['CART_IDLE_TTL', '0', 'between 1d and 3650d'],
    ['RESERVATION_TTL', '0', 'between 5s and 24h'],
    ['RESERVATION_TTL', '2d', 'between 5s and 24h'],
    ['CART_CACHE_TTL', '0ms', 'between 1s and 7d'],
    ['ORDER_SHIP_WINDOW', '1m', 'between 1h and 365d'],
    ['JWT_MAX_AGE', '100y', 'expected a duration'],
    ['JWT_MAX_AGE', '3650d', 'between 1m and 30d'],
    ['DB_LOCK_TIMEOUT', '0', 'between 10ms and 1m'],
    ['REQUEST_TIMEOUT', '500ms', 'between 1s and 5m'],
    ['CHECKOUT_WAIT_MS', '600000', 'integer in 0..60000'],
  ])('refuses %s=%s: %s', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}: .*${message}`));
  });

  it('keeps the request deadline above the checkout wait', () => {
    expect(() => loadConfig({ CHECKOUT_WAIT_MS: '30000', REQUEST_TIMEOUT: '30s' })).toThrow(
      /REQUEST_TIMEOUT: must be longer than CHECKOUT_WAIT_MS/,
    );
    expect(loadConfig({ CHECKOUT_WAIT_MS: '30000', REQUEST_TIMEOUT: '31s' }).http.requestTimeoutMs).toBe(
      31_000,
    );
  });
});
