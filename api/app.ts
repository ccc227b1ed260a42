import { httpInstrumentationMiddleware } from '@hono/otel';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import type { Registry } from 'prom-client';
import { PG, pgErrorCode } from '../db/client.js';
import type { Logger } from '../infra/logger.js';
import { findErrorCode, isAppError } from '../lib/errors.js';
import type { CartService } from '../services/cart/cart.service.js';
import type { CatalogService } from '../services/catalog/catalog.service.js';
import type { CheckoutService } from '../services/checkout/checkout.service.js';
import type { InventoryService } from '../services/inventory/inventory.service.js';
import type { OrdersService } from '../services/orders/orders.service.js';
import type { CheckoutSaga } from './checkout-saga.js';
import type { AppEnv } from './context.js';
import { installEdge, linkEdge, routeOf } from './edge.js';
import { createHttpMetrics } from './metrics.js';
import { createTokenVerifier, type TokenPolicy } from './middleware/auth.js';
import type { RateLimiter } from './middleware/rate-limit.js';
import type { OrderLifecycle } from './order-lifecycle.js';
import { problemResponse } from './problem.js';
import { createRouter } from './route.js';
import { registerCartRoutes } from './routes/cart.routes.js';
import { registerCheckoutRoutes } from './routes/checkout.routes.js';
import { registerDocsRoutes } from './routes/docs.routes.js';
import { type ReadinessCheck, registerHealthRoutes } from './routes/health.routes.js';
import { registerInventoryRoutes } from './routes/inventory.routes.js';
import { registerOrderRoutes } from './routes/orders.routes.js';
import { registerProductRoutes } from './routes/products.routes.js';

export const MAX_BODY_BYTES = 1024 * 1024;

export interface AppDeps {
  logger: Logger;
  /** How bearer tokens are checked: secret, maximum age, optional issuer and audience. */
  auth: TokenPolicy;
  /** REQUEST_TIMEOUT: every request answers within this, 503 `timeout` otherwise. */
  requestTimeoutMs: number;
  /** A server span per request, continued by the workflows it starts (OpenTelemetry). */
  tracing?: boolean;
  /** CORS_ORIGINS: browser origins allowed to call the API; none when empty or absent. */
  corsOrigins?: string[];
  /** Per-caller limits (RATE_LIMIT_RPS, RATE_LIMIT_BURST); none when undefined. */
  rateLimiter?: RateLimiter | undefined;
  metrics: Registry;
  readiness: Record<string, ReadinessCheck>;
  services: {
    catalog: CatalogService;
    inventory: InventoryService;
    cart: CartService;
    checkouts: CheckoutService;
    orders: OrdersService;
  };
  checkout: {
    /** The API's port to the checkout saga (Temporal in production). */
    saga: CheckoutSaga;
    /** CHECKOUT_WAIT_MS: how long a request waits for the saga's outcome. */
    waitMs: number;
    /** PAYMENT_WEBHOOK_SECRET: the HMAC secret of the payment provider's webhooks. */
    webhookSecret: string;
  };
  /** The API's port to the order lifecycle workflows (Temporal in production). */
  orderLifecycle: OrderLifecycle;
}

/** Builds the HTTP API. Pure wiring: every dependency is passed in, nothing is opened here. */
export function createApp(deps: AppDeps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  // The body limit is the first guard of every route that takes a body (api/route.ts), not
  // app-wide middleware: GET and HEAD requests carry none, and asking for one costs
  // @hono/node-server a full Request object, 70 us of CPU per read (docs/performance.md).
  const router = createRouter(app, {
    verifier: createTokenVerifier(deps.auth),
    limiter: deps.rateLimiter,
    bodyLimit: bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => tooLarge(c as Context<AppEnv>) }),
  });

  if (deps.tracing) {
    app.use(
      '*',
      httpInstrumentationMiddleware({
        serviceName: 'commerce-api',
        spanNameFactory: (c) => `${c.req.method} ${routeOf(c)}`,
      }),
    );
  }
  // Request id, security headers, deadline, access log and metrics (api/edge.ts), for every
  // answer, errors, 404s and timeouts included; each handler links its context to the edge
  // (`linkEdge`), inside the request's span.
  installEdge(app, {
    logger: deps.logger,
    metrics: createHttpMetrics(deps.metrics),
    timeoutMs: deps.requestTimeoutMs,
    tracing: deps.tracing ?? false,
  });
  if (deps.corsOrigins && deps.corsOrigins.length > 0) {
    app.use(
      '*',
      cors({
        origin: deps.corsOrigins,
        allowHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'Prefer', 'X-Request-ID'],
        exposeHeaders: [
          'Location',
          'Link',
          'Retry-After',
          'RateLimit-Limit',
          'RateLimit-Remaining',
          'RateLimit-Reset',
          'X-Request-ID',
        ],
        maxAge: 600,
      }),
    );
  }

  registerHealthRoutes(router, { checks: deps.readiness });
  registerProductRoutes(router, deps.services);
  registerInventoryRoutes(router, deps.services);
  registerCartRoutes(router, deps.services);
  registerCheckoutRoutes(router, { checkouts: deps.services.checkouts, ...deps.checkout });
  registerOrderRoutes(router, {
    orders: deps.services.orders,
    lifecycle: deps.orderLifecycle,
    waitMs: deps.checkout.waitMs,
  });
  registerDocsRoutes(app, { metrics: deps.metrics });

  app.notFound((c) => {
    linkEdge(c);
    const allowed = allowedMethods(app, c.req.path);
    if (allowed.length > 0) {
      return problemResponse(c, 'method_not_allowed', `${c.req.method} is not allowed on ${c.req.path}`, {
        headers: { Allow: allowed.join(', ') },
      });
    }
    return problemResponse(c, 'not_found', `no route for ${c.req.method} ${c.req.path}`);
  });

  /** The logger of an error's line: the request id ties it to the access line. */
  const requestLogger = (c: Context<AppEnv>) => deps.logger.child({ request_id: c.get('requestId') });
  app.onError((error, c) => {
    linkEdge(c);
    if (isAppError(error)) {
      return problemResponse(c, error.code, error.message, {
        errors: error.errors,
        extra: error.extra,
        ...(error.headers ? { headers: error.headers } : {}),
      });
    }
    if (isTimeout(error)) {
      requestLogger(c).warn({ err: error }, 'database statement or lock wait timed out');
      return problemResponse(c, 'timeout', 'the request waited too long for the database; retry shortly', {
        headers: { 'Retry-After': '1' },
      });
    }
    if (error instanceof HTTPException && error.status === 413) return tooLarge(c);
    if (error instanceof HTTPException && error.status < 500) {
      return problemResponse(c, 'invalid_request', 'the request could not be read');
    }
    const logger = requestLogger(c);
    if (isUnavailable(error)) {
      logger.warn({ err: error }, 'dependency unavailable');
      return problemResponse(
        c,
        'service_unavailable',
        'a dependency is temporarily unavailable; retry shortly',
        {
          headers: { 'Retry-After': '1' },
        },
      );
    }
    logger.error({ err: error }, 'unhandled error');
    return problemResponse(c, 'internal_error', 'an unexpected error occurred');
  });

  return app;
}

/** 413; the rest of the body is never read, so the connection cannot carry another request. */
function tooLarge(c: Context<AppEnv>): Response {
  return problemResponse(c, 'payload_too_large', `request body exceeds ${MAX_BODY_BYTES} bytes`, {
    headers: { Connection: 'close' },
  });
}

/**
 * Connection-level failures: the dependency went away or is not back yet, so the client should retry.
 * Socket errors as Node names them (a write can race the peer's close: after `end`, on a destroyed
 * stream), the `postgres` driver's own connection codes, and Postgres' SQLSTATEs for a server
 * shutting down, crashing or starting up (class 08 is matched whole, below).
 */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTCONN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ERR_STREAM_WRITE_AFTER_END',
  'ERR_STREAM_DESTROYED',
  'ERR_SOCKET_CLOSED',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
]);

/** Postgres cancelled a statement that ran past `statement_timeout` or waited past `lock_timeout`. */
function isTimeout(error: unknown): boolean {
  const code = pgErrorCode(error);
  return code === PG.queryCanceled || code === PG.lockNotAvailable;
}

/** Connection-level failures of Postgres and friends: the client should retry, not report a bug. */
function isUnavailable(error: unknown): boolean {
  const connectionException = (code: string) => /^08[0-9A-Z]{3}$/.test(code); // SQLSTATE class 08
  return (
    findErrorCode(error, (code) => UNAVAILABLE_CODES.has(code) || connectionException(code)) !== undefined
  );
}

function allowedMethods(app: OpenAPIHono<AppEnv>, path: string): string[] {
  const methods = new Set<string>();
  for (const route of app.routes) {
    if (route.method === 'ALL' || route.path.includes('*')) continue;
    const pattern = new RegExp(
      `^${route.path.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/:\w+/g, '[^/]+')}/?$`,
    );
    if (pattern.test(path)) methods.add(route.method);
  }
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}
