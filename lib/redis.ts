import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

/**
 * A Redis client tuned for a cache: commands fail fast while disconnected (no offline queue,
 * one retry), so callers fall back to Postgres instead of waiting; the connection itself
 * keeps retrying in the background with capped backoff. Errors are logged once per outage.
 */
export function createRedisClient(url: string, logger: Logger, name = 'commerce'): Redis {
  const client = new Redis(url, {
    connectionName: name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 1_000,
    retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 5), 2_000),
  });
  let down = false;
  client.on('error', (error) => {
    if (!down) logger.warn({ err: error }, 'redis unavailable; caching is bypassed until it returns');
    down = true;
  });
  client.on('ready', () => {
    if (down) logger.info('redis connection restored');
    down = false;
  });
  return client;
}
