import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { Db } from '../db/client.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { createCartCache } from './cart/cart.cache.js';
import { createCartService } from './cart/cart.service.js';
import { createCatalogService } from './catalog/catalog.service.js';
import { createInventoryService } from './inventory/inventory.service.js';

export interface ServiceDeps {
  db: Db;
  /** Absent: carts are served from Postgres only. */
  redis: Redis | undefined;
  logger: Logger;
  metrics: Registry;
  clock: Clock;
  cart: { cacheTtlMs: number; cacheJitterMs: number };
}

export type Services = ReturnType<typeof createServices>;

/** Wires the business services over already-open connections. Used by the API, the worker and tests. */
export function createServices(deps: ServiceDeps) {
  const catalog = createCatalogService({ db: deps.db });
  const inventory = createInventoryService({ db: deps.db, clock: deps.clock });
  const cache = deps.redis
    ? createCartCache({
        redis: deps.redis,
        logger: deps.logger.child({ component: 'cart-cache' }),
        metrics: deps.metrics,
        ttlMs: deps.cart.cacheTtlMs,
        jitterMs: deps.cart.cacheJitterMs,
      })
    : undefined;
  const cart = createCartService({ db: deps.db, catalog, cache, clock: deps.clock, logger: deps.logger });
  return { catalog, inventory, cart };
}
