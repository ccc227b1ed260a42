/**
 * Cart cache: Redis cache-aside over Postgres, one hash per user with the raw cart and its version.
 *
 * Freshness never depends on Redis. A cart found here, or taken from another caller's read in
 * flight, is a candidate: the service serves it only when the statement that reads the cart's
 * prices also returns, from Postgres, the version the candidate carries (a version names one
 * content: every write takes a new one from a sequence). A read that starts after a write was
 * acknowledged therefore sees it whatever Redis lost or kept: an eviction, a FLUSHALL, a restart,
 * a partition, or a writer that died between its commit and its invalidation cost hits, never
 * freshness, and nothing here has to be remembered or replayed.
 *
 * What this module does is keep outdated carts out of Redis so that hits stay hits. The Go
 * service deleted the key on every write, yet a reader that had read *before* the write could
 * store its result *after* the delete. So every write invalidates with its version, raising a
 * per-user `floor` ("a version this new exists") and dropping `data`, and a fill carries the
 * version its reader read and is refused, atomically inside Redis, when the floor is higher.
 * Versions are comparable because they are taken while the cart row is locked (a new cart
 * re-takes its version after its insert) and purges take their fence inside the deleting
 * transaction, so a higher version is a later commit. The floor a reader saw at its miss was
 * raised after its write committed, so a read that starts later includes that write: the fill may
 * claim max(version read, floor seen), which lets an absent cart be cached after a purge, and a
 * caller that joined another's read in flight takes it only if it is at least that new. A fill is
 * also dropped when the connection was lost since the miss (a restarted Redis forgot its floors)
 * or when the key that carried the floor it saw has vanished.
 */
import type { Redis } from 'ioredis';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../../lib/logger.js';
import type { CartRecord } from './cart.model.js';

export interface CartCacheOptions {
  redis: Redis;
  logger: Logger;
  metrics: Registry;
  ttlMs: number;
  jitterMs: number;
  /** Upper bound on each cache command, on top of the client's own command timeout. */
  timeoutMs?: number;
  /** How often hit-rate statistics are logged (lazily, on the next lookup). */
  statsLogIntervalMs?: number;
  random?: () => number;
}

/** What one cache lookup found (a hit is a candidate, see above). `unavailable`: Redis failed; use Postgres. */
export type CacheLookup =
  | { kind: 'hit'; record: CartRecord }
  | { kind: 'miss'; miss: CacheMiss }
  | { kind: 'unavailable' };

/** The facts a miss observed; a later fill is judged against them. */
export interface CacheMiss {
  userId: number;
  floor: number;
  epoch: number;
}

export type FillResult = 'stored' | 'fenced' | 'aborted' | 'error';

export interface CartCacheStats {
  hits: number;
  misses: number;
  errors: number;
  bypasses: number;
  /** Share of lookups that found the cart in Redis (hits over all lookups, errors and bypasses included). */
  hitRate: number;
  /** Reads that joined another caller's Postgres read instead of making their own. */
  sharedReads: number;
  /** Hits and shared reads the service refused because Postgres had another version. */
  stale: number;
  fills: Record<FillResult, number>;
  invalidations: Record<'ok' | 'error' | 'deferred', number>;
}

export const CART_CACHE_PREFIX = 'cart:v1:';

export const cartCacheKey = (userId: number) => `${CART_CACHE_PREFIX}${userId}`;

/** TTL with continuous jitter in [0, jitterMs), so keys filled together do not expire together. */
export function ttlWithJitter(ttlMs: number, jitterMs: number, random: () => number = Math.random): number {
  return Math.max(1, Math.floor(ttlMs + random() * Math.max(0, jitterMs)));
}

/** A caller that joined an in-flight read accepts it only if it is at least as new as what that caller saw. */
export function acceptsFlight(flightEffectiveVersion: number, callerFloor: number): boolean {
  return flightEffectiveVersion >= callerFloor;
}

const INVALIDATE_LUA = `
local floor = tonumber(redis.call('HGET', KEYS[1], 'floor') or '0')
if tonumber(ARGV[1]) > floor then redis.call('HSET', KEYS[1], 'floor', ARGV[1]) end
redis.call('HDEL', KEYS[1], 'data')
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
`;

const FILL_LUA = `
local raw = redis.call('HGET', KEYS[1], 'floor')
if not raw then
  if tonumber(ARGV[4]) > 0 then return 0 end
  raw = '0'
end
if tonumber(raw) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'floor', ARGV[1], 'data', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`;

interface CartScripts {
  cartCacheInvalidateV1(key: string, version: string, ttlMs: string): Promise<number>;
  cartCacheFillV1(
    key: string,
    version: string,
    json: string,
    ttlMs: string,
    floorSeen: string,
  ): Promise<number>;
}

interface Flight {
  promise: Promise<{ record: CartRecord; effectiveVersion: number }>;
}

const ERROR_LOG_INTERVAL_MS = 30_000;

export type CartCache = ReturnType<typeof createCartCache>;

/** The cart cache over one ioredis client. Never throws: every failure degrades to Postgres. */
export function createCartCache(options: CartCacheOptions) {
  const { redis, logger, ttlMs, jitterMs } = options;
  const timeoutMs = options.timeoutMs ?? 1_000;
  const statsLogIntervalMs = options.statsLogIntervalMs ?? 60_000;
  const random = options.random ?? Math.random;
  const scripts = defineScripts(redis);
  const metrics = createMetrics(options.metrics);

  const counts = {
    hit: 0,
    miss: 0,
    error: 0,
    bypass: 0,
    shared: 0,
    stale: 0,
    fills: { stored: 0, fenced: 0, aborted: 0, error: 0 } as Record<FillResult, number>,
    invalidations: { ok: 0, error: 0, deferred: 0 },
  };

  let epoch = 0;
  const flights = new Map<number, Flight>();

  let lastErrorLogAt = Number.NEGATIVE_INFINITY;
  let suppressedErrors = 0;
  let lastStatsLogAt = performance.now();

  const onDisconnect = () => {
    epoch += 1;
  };
  redis.on('close', onDisconnect);
  redis.on('end', onDisconnect);
  redis.on('reconnecting', onDisconnect);

  function countLookup(result: 'hit' | 'miss' | 'error' | 'bypass'): void {
    counts[result] += 1;
    metrics.requests.inc({ result });
    const now = performance.now();
    if (now - lastStatsLogAt >= statsLogIntervalMs) {
      lastStatsLogAt = now;
      logger.info({ cartCache: stats() }, 'cart cache statistics');
    }
  }

  function reportError(operation: string, error: unknown): void {
    const now = performance.now();
    if (now - lastErrorLogAt < ERROR_LOG_INTERVAL_MS) {
      suppressedErrors += 1;
      return;
    }
    logger.warn(
      { err: error, operation, suppressedSinceLastLog: suppressedErrors },
      'cart cache unavailable; serving carts from Postgres',
    );
    lastErrorLogAt = now;
    suppressedErrors = 0;
  }

  const connected = () => redis.status === 'ready';

  async function withTimeout<T>(operation: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`cart cache command timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([operation, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  function ttl(): string {
    return String(ttlWithJitter(ttlMs, jitterMs, random));
  }

  /** One lookup: a hit, a miss with the floor it saw, or `unavailable`. */
  async function lookup(userId: number): Promise<CacheLookup> {
    if (!connected()) {
      countLookup('bypass');
      return { kind: 'unavailable' };
    }
    const startEpoch = epoch;
    try {
      const [data, floor] = await withTimeout(redis.hmget(cartCacheKey(userId), 'data', 'floor'));
      const record = data ? decodeRecord(data, userId) : undefined;
      if (record) {
        countLookup('hit');
        return { kind: 'hit', record };
      }
      countLookup('miss');
      return {
        kind: 'miss',
        miss: { userId, floor: floor ? Number(floor) : 0, epoch: startEpoch },
      };
    } catch (error) {
      countLookup('error');
      reportError('lookup', error);
      return { kind: 'unavailable' };
    }
  }

  /** Stores a cart read after `miss`, unless Redis knows of a newer version (then it is fenced). */
  async function fill(
    record: CartRecord,
    miss: CacheMiss,
    effectiveVersion = Math.max(record.version, miss.floor),
  ): Promise<FillResult> {
    const result = await attemptFill(record, miss, effectiveVersion);
    counts.fills[result] += 1;
    metrics.fills.inc({ result });
    return result;
  }

  async function attemptFill(
    record: CartRecord,
    miss: CacheMiss,
    effectiveVersion: number,
  ): Promise<FillResult> {
    if (record.userId !== miss.userId) throw new Error('fill for another user than the miss');
    if (!connected() || epoch !== miss.epoch) return 'aborted';
    try {
      const stored = await withTimeout(
        scripts.cartCacheFillV1(
          cartCacheKey(miss.userId),
          String(effectiveVersion),
          encodeRecord(record),
          ttl(),
          String(miss.floor),
        ),
      );
      return stored === 1 ? 'stored' : 'fenced';
    } catch (error) {
      reportError('fill', error);
      return 'error';
    }
  }

  /**
   * Cache-aside read: the cart from Redis, from another caller's Postgres read in flight (one
   * per user), or from `load`, whose result fills the cache. Only `load`'s result is known to be
   * fresh; the caller confirms the other two against Postgres (see the top of this file).
   */
  async function read(userId: number, load: () => Promise<CartRecord>): Promise<CartRecord> {
    const found = await lookup(userId);
    if (found.kind === 'hit') return found.record;
    if (found.kind === 'unavailable') return load();
    return readThrough(found.miss, load);
  }

  async function readThrough(miss: CacheMiss, load: () => Promise<CartRecord>): Promise<CartRecord> {
    let rejected: Flight | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = flights.get(miss.userId);
      if (current && current !== rejected) {
        let shared: { record: CartRecord; effectiveVersion: number };
        try {
          shared = await current.promise;
        } catch {
          // Its failure is its leader's to report; this caller makes its own read.
          return load();
        }
        if (acceptsFlight(shared.effectiveVersion, miss.floor)) {
          counts.shared += 1;
          return shared.record;
        }
        rejected = current;
        continue;
      }
      const flight = startFlight(miss, load);
      const { record, effectiveVersion } = await flight.promise;
      await fill(record, miss, effectiveVersion);
      return record;
    }
    return load();
  }

  function startFlight(miss: CacheMiss, load: () => Promise<CartRecord>): Flight {
    const promise = load().then((record) => ({
      record,
      effectiveVersion: Math.max(record.version, miss.floor),
    }));
    const flight: Flight = { promise };
    flights.set(miss.userId, flight);
    const settle = () => {
      if (flights.get(miss.userId) === flight) flights.delete(miss.userId);
    };
    promise.then(settle, settle);
    return flight;
  }

  /**
   * Makes Redis forget the cart and remember that `version` exists, so no older read can be
   * stored afterwards. Call after the write committed. Never throws; a failure costs hits only
   * (the next read that finds the old cart refuses it and discards it).
   */
  async function invalidate(userId: number, version: number): Promise<void> {
    await invalidateMany([userId], version);
  }

  /** `invalidate` for several users at one version (purges). */
  async function invalidateMany(userIds: readonly number[], version: number): Promise<void> {
    if (userIds.length === 0) return;
    if (!connected()) {
      counts.invalidations.deferred += userIds.length;
      metrics.invalidations.inc({ result: 'deferred' }, userIds.length);
      return;
    }
    const results = await Promise.allSettled(
      userIds.map((userId) =>
        withTimeout(scripts.cartCacheInvalidateV1(cartCacheKey(userId), String(version), ttl())),
      ),
    );
    const failed = results.filter((result) => result.status === 'rejected');
    for (const failure of failed) reportError('invalidate', failure.reason);
    counts.invalidations.ok += userIds.length - failed.length;
    counts.invalidations.error += failed.length;
    if (userIds.length > failed.length) {
      metrics.invalidations.inc({ result: 'ok' }, userIds.length - failed.length);
    }
    if (failed.length > 0) metrics.invalidations.inc({ result: 'error' }, failed.length);
  }

  /** Drops a cart the caller found older than Postgres (which has `version`), so the next read refills it. */
  async function discard(userId: number, version: number): Promise<void> {
    counts.stale += 1;
    metrics.stale.inc();
    await invalidate(userId, version);
  }

  function stats(): CartCacheStats {
    const lookups = counts.hit + counts.miss + counts.error + counts.bypass;
    return {
      hits: counts.hit,
      misses: counts.miss,
      errors: counts.error,
      bypasses: counts.bypass,
      hitRate: lookups === 0 ? 0 : counts.hit / lookups,
      sharedReads: counts.shared,
      stale: counts.stale,
      fills: { ...counts.fills },
      invalidations: { ...counts.invalidations },
    };
  }

  return {
    read,
    invalidate,
    invalidateMany,
    discard,
    lookup,
    fill,
    stats,
    /** Detaches from the client; the client itself belongs to the caller. */
    close(): void {
      redis.off('close', onDisconnect);
      redis.off('end', onDisconnect);
      redis.off('reconnecting', onDisconnect);
    },
  };
}

function defineScripts(redis: Redis): CartScripts {
  const target = redis as Redis & Partial<CartScripts>;
  if (typeof target.cartCacheInvalidateV1 !== 'function') {
    redis.defineCommand('cartCacheInvalidateV1', { numberOfKeys: 1, lua: INVALIDATE_LUA });
  }
  if (typeof target.cartCacheFillV1 !== 'function') {
    redis.defineCommand('cartCacheFillV1', { numberOfKeys: 1, lua: FILL_LUA });
  }
  return target as Redis & CartScripts;
}

function createMetrics(registry: Registry) {
  const counter = (name: string, help: string, results: string[] = []) => {
    const existing = registry.getSingleMetric(name);
    if (existing) return existing as Counter<'result'>;
    const labelNames = results.length > 0 ? (['result'] as const) : [];
    const created = new Counter<'result'>({ name, help, labelNames, registers: [registry] });
    for (const result of results) created.inc({ result }, 0);
    return created;
  };
  return {
    requests: counter('cart_cache_requests_total', 'Cart cache lookups by result', [
      'hit',
      'miss',
      'error',
      'bypass',
    ]),
    fills: counter('cart_cache_fills_total', 'Cart cache fills by result (fenced: a newer version exists)', [
      'stored',
      'fenced',
      'aborted',
      'error',
    ]),
    invalidations: counter('cart_cache_invalidations_total', 'Cart cache invalidations by result', [
      'ok',
      'error',
      'deferred',
    ]),
    stale: counter(
      'cart_cache_stale_total',
      'Cached or shared carts refused because Postgres had another version (served from Postgres)',
    ),
  };
}

interface EncodedCart {
  id: string | null;
  userId: number;
  version: number;
  createdAt: string | null;
  updatedAt: string | null;
  lines: Array<{ productId: number; quantity: number; addedAt: string; version: number }>;
}

export function encodeRecord(record: CartRecord): string {
  const encoded: EncodedCart = {
    id: record.id,
    userId: record.userId,
    version: record.version,
    createdAt: record.createdAt?.toISOString() ?? null,
    updatedAt: record.updatedAt?.toISOString() ?? null,
    lines: record.lines.map((line) => ({
      productId: line.productId,
      quantity: line.quantity,
      addedAt: line.addedAt.toISOString(),
      version: line.version,
    })),
  };
  return JSON.stringify(encoded);
}

/** The cached cart, or undefined when the entry is unreadable (then it is treated as a miss). */
export function decodeRecord(json: string, userId: number): CartRecord | undefined {
  try {
    const value = JSON.parse(json) as EncodedCart;
    if (value.userId !== userId || !Array.isArray(value.lines) || typeof value.version !== 'number') {
      return undefined;
    }
    return {
      id: value.id,
      userId: value.userId,
      version: value.version,
      createdAt: value.createdAt === null ? null : new Date(value.createdAt),
      updatedAt: value.updatedAt === null ? null : new Date(value.updatedAt),
      lines: value.lines.map((line) => ({
        productId: line.productId,
        quantity: line.quantity,
        addedAt: new Date(line.addedAt),
        version: line.version,
      })),
    };
  } catch {
    return undefined;
  }
}
