import { Redis } from 'ioredis';
import {
  findExecutable,
  freePort,
  type Log,
  type ManagedProcess,
  spawnManaged,
  waitUntil,
} from './process.js';

export interface LocalRedis {
  url: string;
  port: number;
  process: ManagedProcess;
  stop(): Promise<void>;
}

export async function findRedisServer(): Promise<string | undefined> {
  return findExecutable([
    'redis-server',
    '/usr/bin/redis-server',
    '/usr/sbin/redis-server',
    '/usr/local/bin/redis-server',
  ]);
}

/**
 * Starts a local redis-server as a pure cache: loopback only, no persistence, and `allkeys-lru`
 * so that a full Redis evicts rather than refusing writes. Any policy would be correct: the cart
 * cache confirms every cached cart against Postgres (docs/architecture.md, "Carts and their
 * cache"). Returns undefined when redis-server is not installed.
 */
export async function startLocalRedis(options: {
  runDir: string;
  /** Preferred port; another free one is used when it is taken, unless `strictPort`. */
  port?: number;
  /** Fail rather than move when `port` is taken (a restart keeps the address clients know). */
  strictPort?: boolean;
  log: Log;
}): Promise<LocalRedis | undefined> {
  const binary = await findRedisServer();
  if (!binary) return undefined;
  const port = await freePort(options.port ?? 0, { strict: options.strictPort });
  const child = spawnManaged(
    'redis',
    binary,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory',
      '256mb',
      '--maxmemory-policy',
      'allkeys-lru',
    ],
    { runDir: options.runDir },
  );
  const url = `redis://127.0.0.1:${port}`;
  try {
    await waitUntil('redis-server', () => redisAnswers(url), { timeoutMs: 20_000, process: child });
  } catch (error) {
    await child.stop('SIGKILL', 5_000).catch(() => {});
    throw error;
  }
  return { url, port, process: child, stop: () => child.stop('SIGTERM', 10_000) };
}

export async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1_000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } finally {
    client.disconnect();
  }
}
