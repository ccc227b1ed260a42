// STUB: to be implemented (issue 4).
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { Logger } from '../../lib/logger.js';

export interface CartCacheOptions {
  redis: Redis;
  logger: Logger;
  metrics: Registry;
  ttlMs: number;
  jitterMs: number;
}

export type CartCache = ReturnType<typeof createCartCache>;

export function createCartCache(_options: CartCacheOptions) {
  return {};
}
