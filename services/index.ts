import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { Db } from '../db/client.js';
import type { Logger } from '../infra/logger.js';
import { commerceMetrics } from '../infra/metrics.js';
import type { Clock } from '../lib/clock.js';
import { createCartCache } from './cart/cart.cache.js';
import { createCartService } from './cart/cart.service.js';
import { createCatalogService } from './catalog/catalog.service.js';
import { createCheckoutService } from './checkout/checkout.service.js';
import { createInventoryService } from './inventory/inventory.service.js';
import { createOrdersService } from './orders/orders.service.js';
import { createMockProvider } from './payments/mock-provider.js';
import type { PaymentProvider } from './payments/payment-provider.js';
import { createPaymentsService } from './payments/payments.service.js';

export interface ServiceDeps {
  db: Db;
  /** Absent: carts are served from Postgres only. */
  redis: Redis | undefined;
  logger: Logger;
  metrics: Registry;
  clock: Clock;
  /** `memoryCacheSize`: carts kept in this process's memory (CART_MEMORY_CACHE_SIZE; 0: none). */
  cart: { cacheTtlMs: number; cacheJitterMs: number; memoryCacheSize: number };
  /** The built-in mock provider's random refusal rate (PAYMENT_FAILURE_RATE); ignored with `provider`. */
  payments: { failureRate: number; provider?: PaymentProvider };
}

export type Services = ReturnType<typeof createServices>;

/** Wires the business services over already-open connections. Used by the API, the worker and tests. */
export function createServices(deps: ServiceDeps) {
  const metrics = commerceMetrics(deps.metrics);
  const catalog = createCatalogService({ db: deps.db });
  const inventory = createInventoryService({ db: deps.db, clock: deps.clock, metrics });
  const cache = deps.redis
    ? createCartCache({
        redis: deps.redis,
        logger: deps.logger.child({ component: 'cart-cache' }),
        metrics: deps.metrics,
        ttlMs: deps.cart.cacheTtlMs,
        jitterMs: deps.cart.cacheJitterMs,
      })
    : undefined;
  const cart = createCartService({
    db: deps.db,
    catalog,
    cache,
    clock: deps.clock,
    logger: deps.logger,
    memoryCacheSize: deps.cart.memoryCacheSize,
    metrics: deps.metrics,
  });
  const checkouts = createCheckoutService({ db: deps.db, cart, catalog, clock: deps.clock, metrics });
  const provider =
    deps.payments.provider ?? createMockProvider({ db: deps.db, failureRate: deps.payments.failureRate });
  const payments = createPaymentsService({ db: deps.db, provider, clock: deps.clock, metrics });
  const orders = createOrdersService({ db: deps.db, clock: deps.clock });
  return { catalog, inventory, cart, checkouts, payments, orders };
}
