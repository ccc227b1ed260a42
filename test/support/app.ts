import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Redis } from 'ioredis';
import { SignJWT } from 'jose';
import type { Registry } from 'prom-client';
import { type AppDeps, createApp } from '../../api/app.js';
import { checkoutSagaUnavailable } from '../../api/checkout-saga.js';
import type { AppEnv } from '../../api/context.js';
import { orderLifecycleUnavailable } from '../../api/order-lifecycle.js';
import { signToken } from '../../infra/jwt.js';
import { createLogger, type Logger } from '../../infra/logger.js';
import { createMetricsRegistry } from '../../infra/metrics.js';
import { type Clock, systemClock } from '../../lib/clock.js';
import { MEMORY_CACHE_DEFAULT } from '../../services/cart/cart.service.js';
import { createServices, type Services } from '../../services/index.js';
import type { TestDatabase } from './db.js';

/** Secrets of the test suite; a child process the tests start gets them through its environment. */
export const TEST_JWT_SECRET = 'test-suite-jwt-secret-not-for-production';
export const TEST_WEBHOOK_SECRET = 'whsec_test_suite_not_for_production';

export interface TestAppOptions {
  db: TestDatabase;
  redis?: Redis | undefined;
  clock?: Clock;
  readiness?: AppDeps['readiness'];
  /** The checkout saga port; by default one that answers 503 (tests that do not check out). */
  checkout?: Partial<AppDeps['checkout']>;
  /** The order lifecycle port; by default one that answers 503. */
  orderLifecycle?: AppDeps['orderLifecycle'];
  /** A server span per request (OpenTelemetry); off by default. */
  tracing?: boolean;
  /** CORS_ORIGINS of the app; none by default. */
  corsOrigins?: string[];
  /** Per-caller limits; none by default (tests of other things must not trip them). */
  rateLimiter?: AppDeps['rateLimiter'];
  /** REQUEST_TIMEOUT of the app; default one minute. */
  requestTimeoutMs?: number;
  /** Services to serve instead of new ones over `db` (to share them with workers). */
  services?: Services;
  /** The app's logger; silent by default. */
  logger?: Logger;
  /** CART_MEMORY_CACHE_SIZE; 0 for tests of the Redis layer, whose every read must reach Redis. */
  cartMemoryCacheSize?: number;
}

export interface TestApp {
  app: OpenAPIHono<AppEnv>;
  services: Services;
  metrics: Registry;
}

/** Real services over a test database (and Redis, when given), as the API process wires them. */
export function createTestServices(
  options: TestAppOptions & { metrics?: Registry; paymentFailureRate?: number },
): Services {
  return createServices({
    db: options.db.db,
    redis: options.redis,
    logger: createLogger({ level: 'silent' }),
    metrics: options.metrics ?? createMetricsRegistry(),
    clock: options.clock ?? systemClock,
    cart: {
      cacheTtlMs: 15 * 60_000,
      cacheJitterMs: 5 * 60_000,
      memoryCacheSize: options.cartMemoryCacheSize ?? MEMORY_CACHE_DEFAULT,
    },
    payments: { failureRate: options.paymentFailureRate ?? 0 },
  });
}

/** The real app over real services on a test database; requests go through `app.request()`. */
export function createTestApp(options: TestAppOptions): TestApp {
  const metrics = createMetricsRegistry();
  const services = options.services ?? createTestServices({ ...options, metrics });
  const app = createApp({
    logger: options.logger ?? createLogger({ level: 'silent' }),
    auth: { secret: TEST_JWT_SECRET, maxAgeMs: 24 * 3_600_000 },
    requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
    rateLimiter: options.rateLimiter,
    tracing: options.tracing ?? false,
    ...(options.corsOrigins ? { corsOrigins: options.corsOrigins } : {}),
    metrics,
    readiness: options.readiness ?? { postgres: async () => 'ok' },
    services,
    checkout: {
      saga: checkoutSagaUnavailable(),
      waitMs: 30_000,
      webhookSecret: TEST_WEBHOOK_SECRET,
      ...options.checkout,
    },
    orderLifecycle: options.orderLifecycle ?? orderLifecycleUnavailable(),
  });
  return { app, services, metrics };
}

/** A token signed as the caller says (another algorithm, secret or no `exp`), for tests of refusals. */
export function signTestToken(
  claims: Record<string, unknown>,
  options: { alg?: string; secret?: string; exp?: number | null } = {},
): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: options.alg ?? 'HS256' });
  if (options.exp !== null) jwt.setExpirationTime(options.exp ?? Math.floor(Date.now() / 1000) + 600);
  return jwt.sign(new TextEncoder().encode(options.secret ?? TEST_JWT_SECRET));
}

export const userToken = (userId: number) => signToken(TEST_JWT_SECRET, { userId });
export const adminToken = (userId = 1) => signToken(TEST_JWT_SECRET, { userId, admin: true });

export function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

export function jsonRequest(
  method: string,
  body: unknown,
  headers: Record<string, string> = {},
): RequestInit {
  return {
    method,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
}
