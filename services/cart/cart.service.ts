// STUB: to be implemented (issue 4). The exported names and signatures are the agreed contract.
import type { Db } from '../../db/client.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { CatalogService } from '../catalog/catalog.service.js';
import type { CartCache } from './cart.cache.js';

export interface CartServiceDeps {
  db: Db;
  catalog: CatalogService;
  cache: CartCache | undefined;
  clock: Clock;
  logger: Logger;
}

export type CartService = ReturnType<typeof createCartService>;

export function createCartService(_deps: CartServiceDeps) {
  const notYet = (): never => {
    throw new Error('cart service not implemented yet');
  };
  return {
    /** Deletes carts not written for `idleMs` (default 90 days) and invalidates their cache entries. */
    purgeIdle: async (_options: { idleMs: number; batchSize?: number }): Promise<{ purged: number }> =>
      notYet(),
  };
}
