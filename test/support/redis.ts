import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { inject } from 'vitest';
import { createLogger } from '../../infra/logger.js';
import { createRedisClient } from '../../infra/redis.js';
import { findRedisServer, type LocalRedis, startLocalRedis } from '../../scripts/provision/redis.js';

/** The shared test Redis, or '' when none is available (Redis-dependent blocks then skip). */
export const testRedisUrl = (): string => inject('redisUrl');

/** A fail-fast client like the API's; undefined when there is no Redis. Quit it in afterAll. */
export function connectTestRedis(
  url: string = testRedisUrl(),
  options: { traced?: boolean } = {},
): Redis | undefined {
  return url
    ? createRedisClient(url, createLogger({ level: 'silent' }), 'commerce-test', options)
    : undefined;
}

/**
 * User ids unique to this test file. Test files share one Redis but not one database, so two
 * files using the same user id would read each other's cached carts.
 */
export function userIdSource(): () => number {
  let next = randomInt(1, 2 ** 40) * 1_000;
  return () => ++next;
}

/** Polls `probe` until it holds; fails with `what` after the deadline. */
export async function waitFor(
  what: string,
  probe: () => boolean | Promise<boolean>,
  { timeoutMs = 15_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** A redis-server owned by one test, which it may kill, restart on the same port, freeze and thaw. */
export interface OwnRedis {
  url: string;
  /** Kills the server: its data is gone. */
  kill(): Promise<void>;
  /** Starts a fresh, empty server on the same port. */
  start(): Promise<void>;
  /** SIGSTOP: connections stay open, commands hang, data is kept (a partition). */
  freeze(): void;
  /** SIGCONT: the server answers again with the data it had. */
  thaw(): void;
  /** Stops the server and removes its files. */
  destroy(): Promise<void>;
}

export const redisServerAvailable = async (): Promise<boolean> => (await findRedisServer()) !== undefined;

export async function startOwnRedis(): Promise<OwnRedis> {
  const runDir = mkdtempSync(join(tmpdir(), 'commerce-own-redis-'));
  const log = () => {};
  let server: LocalRedis | undefined = await startLocalRedis({ runDir, log });
  if (!server) throw new Error('redis-server is not installed');
  const url = server.url;
  const port = Number(new URL(url).port);
  let frozen = false;
  const current = () => {
    if (!server) throw new Error('the test redis-server is not running');
    return server;
  };
  const thaw = () => {
    process.kill(current().process.pid, 'SIGCONT');
    frozen = false;
  };
  return {
    url,
    async kill() {
      if (frozen) thaw();
      await current().process.stop('SIGKILL', 5_000);
      server = undefined;
    },
    async start() {
      server = await startLocalRedis({ runDir, port, log });
      if (!server || server.url !== url) throw new Error(`could not restart redis-server on port ${port}`);
    },
    freeze() {
      process.kill(current().process.pid, 'SIGSTOP');
      frozen = true;
    },
    thaw,
    async destroy() {
      if (server) {
        if (frozen) thaw();
        await server.stop();
      }
      server = undefined;
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}
