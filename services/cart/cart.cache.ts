/**
 * Cart cache: Redis cache-aside over Postgres, one hash per user with the raw cart and its version.
 *
 * Freshness never depends on Redis: a cart found here, or taken from another caller's read in
 * flight, is a candidate that the service serves only if Postgres, read after the request began,
 * still has its version (every write takes a new one from a sequence). Lost keys, a restart, a
 * partition or a writer that died before invalidating cost hits, never freshness.
 *
 * This module keeps outdated carts out of Redis so that hits stay hits. A reader that read
 * *before* a write could store its result *after* the write's delete (the Go service's bug), so
 * every write invalidates with its version, raising a per-user `floor` ("a version this new
 * exists") and dropping `data`, and a fill carries the version its reader read and is refused,
 * atomically in Redis, when the floor is higher. Versions are taken under the cart's row lock (a
 * purge takes its fence inside the deleting transaction), so a higher version is a later commit.
 * The floor seen at a miss was raised after its write committed, so a read that starts later
 * includes that write: the fill may claim max(version read, floor seen), which lets an absent cart
 * be cached after a purge, and a caller joining a read in flight takes it only if it is at least
 * that new. A fill is dropped too when the connection was lost since the miss (a restarted Redis
 * forgot its floors) or when the key that carried the floor it saw has vanished.
 *
 * The client (`createRedisClient`) bounds every command with its timeout, fails fast while
 * disconnected and logs each outage once; here failures are only counted.
 */
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { Logger } from '../../infra/logger.js';
import { resultCounter } from '../../infra/metrics.js';
import type { CartRecord } from './cart.model.js';

export interface CartCacheOptions {
  /** A client from `createRedisClient`: its command timeout bounds every cache command. */
  redis: Redis;
  logger: Logger;
  metrics: Registry;
  ttlMs: number;
  jitterMs: number;
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

/** Each counter's `result` labels (all shown from the start, at 0), with its help text. */
const COUNTERS = {
  requests: ['Cart cache lookups by result', ['hit', 'miss', 'error', 'bypass']],
  fills: [
    'Cart cache fills by result (fenced: a newer version exists)',
    ['stored', 'fenced', 'aborted', 'error'],
  ],
  invalidations: ['Cart cache invalidations by result', ['ok', 'error', 'deferred']],
} as const;
type Counted = keyof typeof COUNTERS;
type Tally<K extends Counted> = Record<(typeof COUNTERS)[K][1][number], number>;
export type FillResult = keyof Tally<'fills'>;

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
  fills: Tally<'fills'>;
  invalidations: Tally<'invalidations'>;
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

/** ARGV: the version written, the TTL. Raises the floor, drops the cart, keeps the floor a TTL. */
const INVALIDATE_LUA = `
local floor = tonumber(redis.call('HGET', KEYS[1], 'floor') or '0')
if tonumber(ARGV[1]) > floor then redis.call('HSET', KEYS[1], 'floor', ARGV[1]) end
redis.call('HDEL', KEYS[1], 'data')
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
`;

/** ARGV: the version read, the cart, the TTL, the floor seen at the miss. 0: fenced. */
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

type Script = (key: string, ...args: string[]) => Promise<number>;
type Scripts = { cartCacheInvalidateV1: Script; cartCacheFillV1: Script };

/** A Postgres read in flight, with the version its result may claim (see the top of this file). */
type Flight = Promise<{ record: CartRecord; effectiveVersion: number }>;

const DISCONNECT_EVENTS = ['close', 'end', 'reconnecting'] as const;

export type CartCache = ReturnType<typeof createCartCache>;

/** The cart cache over one ioredis client. Never throws: every failure degrades to Postgres. */
export function createCartCache({ redis, logger, metrics, ttlMs, jitterMs, random }: CartCacheOptions) {
  const scripts = defineScripts(redis);
  const counters = registerCounters(metrics);
  const counts = {
    requests: tally('requests'),
    fills: tally('fills'),
    invalidations: tally('invalidations'),
  };
  let shared = 0;
  let refused = 0;
  /** Counts for `stats()` (this cache) and on the registry (every cache that shares it), in one step. */
  function count<K extends Counted>(kind: K, result: keyof Tally<K> & string, n = 1): void {
    const own = counts[kind] as Record<string, number>;
    own[result] = (own[result] ?? 0) + n;
    counters[kind].inc({ result }, n);
  }
  const failed = (operation: string, err: unknown) =>
    logger.debug({ err, operation }, 'cart cache command failed; served from Postgres');

  const ttl = () => String(ttlWithJitter(ttlMs, jitterMs, random));
  const connected = () => redis.status === 'ready';
  /** Bumped on every disconnect: a fill whose miss saw another epoch may be judged by a Redis that forgot. */
  let epoch = 0;
  const onDisconnect = () => {
    epoch += 1;
  };
  for (const event of DISCONNECT_EVENTS) redis.on(event, onDisconnect);
  /** One Postgres read in flight per user, which concurrent misses join. */
  const flights = new Map<number, Flight>();

  /** One lookup: a hit, a miss with the floor it saw, or `unavailable`. */
  async function lookup(userId: number): Promise<CacheLookup> {
    if (!connected()) {
      count('requests', 'bypass');
      return { kind: 'unavailable' };
    }
    const startEpoch = epoch;
    try {
      const [data, floor] = await redis.hmget(cartCacheKey(userId), 'data', 'floor');
      const record = data ? decodeRecord(data, userId) : undefined;
      count('requests', record ? 'hit' : 'miss');
      if (record) return { kind: 'hit', record };
      return { kind: 'miss', miss: { userId, floor: floor ? Number(floor) : 0, epoch: startEpoch } };
    } catch (error) {
      count('requests', 'error');
      failed('lookup', error);
      return { kind: 'unavailable' };
    }
  }

  /** Stores a cart read after `miss`, unless Redis knows of a newer version (then it is fenced). */
  async function fill(
    record: CartRecord,
    miss: CacheMiss,
    effectiveVersion = Math.max(record.version, miss.floor),
  ): Promise<FillResult> {
    if (record.userId !== miss.userId) throw new Error('fill for another user than the miss');
    let result: FillResult = 'aborted';
    if (connected() && epoch === miss.epoch) {
      const args = [String(effectiveVersion), encodeRecord(record), ttl(), String(miss.floor)] as const;
      try {
        result =
          (await scripts.cartCacheFillV1(cartCacheKey(miss.userId), ...args)) === 1 ? 'stored' : 'fenced';
      } catch (error) {
        failed('fill', error);
        result = 'error';
      }
    }
    count('fills', result);
    return result;
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
    const { miss } = found;
    let rejected: Flight | undefined;
    for (let joined = flights.get(userId); joined && joined !== rejected; joined = flights.get(userId)) {
      const result = await joined.catch(() => undefined);
      // A failed read is its own caller's to report: this one reads alone.
      if (!result) return load();
      if (acceptsFlight(result.effectiveVersion, miss.floor)) {
        shared += 1;
        return result.record;
      }
      rejected = joined;
    }
    const flight: Flight = load().then((record) => ({
      record,
      effectiveVersion: Math.max(record.version, miss.floor),
    }));
    flights.set(userId, flight);
    const land = () => {
      if (flights.get(userId) === flight) flights.delete(userId);
    };
    flight.then(land, land);
    const { record, effectiveVersion } = await flight;
    await fill(record, miss, effectiveVersion);
    return record;
  }

  /** `invalidate` for several users at one version (purges). */
  async function invalidateMany(userIds: readonly number[], version: number): Promise<void> {
    if (!connected()) {
      if (userIds.length > 0) count('invalidations', 'deferred', userIds.length);
      return;
    }
    const invalidateOne = async (userId: number) => {
      try {
        await scripts.cartCacheInvalidateV1(cartCacheKey(userId), String(version), ttl());
        count('invalidations', 'ok');
      } catch (error) {
        failed('invalidate', error);
        count('invalidations', 'error');
      }
    };
    await Promise.all(userIds.map(invalidateOne));
  }

  /**
   * Makes Redis forget the cart and remember that `version` exists, so no older read can be
   * stored afterwards. Call after the write committed. Never throws; a failure costs hits only
   * (the next read that finds the old cart refuses it and discards it).
   */
  const invalidate = (userId: number, version: number): Promise<void> => invalidateMany([userId], version);

  return {
    read,
    invalidate,
    invalidateMany,
    /** Drops a cart the caller found older than Postgres (which has `version`), so the next read refills it. */
    async discard(userId: number, version: number): Promise<void> {
      refused += 1;
      counters.stale.inc();
      await invalidate(userId, version);
    },
    lookup,
    fill,
    /** This cache's counts (the registry's counters add up every cache registered on it). */
    stats(): CartCacheStats {
      const { hit: hits, miss: misses, error: errors, bypass: bypasses } = counts.requests;
      const hitRate = hits / Math.max(1, hits + misses + errors + bypasses);
      const [fills, invalidations] = [{ ...counts.fills }, { ...counts.invalidations }];
      return {
        hits,
        misses,
        errors,
        bypasses,
        hitRate,
        sharedReads: shared,
        stale: refused,
        fills,
        invalidations,
      };
    },
    /** Detaches from the client; the client itself belongs to the caller. */
    close(): void {
      for (const event of DISCONNECT_EVENTS) redis.off(event, onDisconnect);
    },
  };
}

function defineScripts(redis: Redis): Scripts {
  const client = redis as Redis & Partial<Scripts>;
  if (!client.cartCacheInvalidateV1) {
    redis.defineCommand('cartCacheInvalidateV1', { numberOfKeys: 1, lua: INVALIDATE_LUA });
  }
  if (!client.cartCacheFillV1) redis.defineCommand('cartCacheFillV1', { numberOfKeys: 1, lua: FILL_LUA });
  return client as Redis & Scripts;
}

function registerCounters(registry: Registry) {
  const each = (kind: Counted) => {
    const [help, results] = COUNTERS[kind];
    return resultCounter(registry, `cart_cache_${kind}_total`, help, results);
  };
  const stale = resultCounter(
    registry,
    'cart_cache_stale_total',
    'Cached or shared carts refused because Postgres had another version (served from Postgres)',
  );
  return { requests: each('requests'), fills: each('fills'), invalidations: each('invalidations'), stale };
}

function tally<K extends Counted>(kind: K): Tally<K> {
  return Object.fromEntries(COUNTERS[kind][1].map((result) => [result, 0])) as Tally<K>;
}

/** What is cached of a cart and its lines (an array replacer keeps only these), dates as ISO strings. */
const CACHED_FIELDS = ['id', 'userId', 'version', 'createdAt', 'updatedAt', 'lines'];
const CACHED_LINE_FIELDS = ['productId', 'quantity', 'addedAt'];

export const encodeRecord = (record: CartRecord): string =>
  JSON.stringify(record, [...CACHED_FIELDS, ...CACHED_LINE_FIELDS]);

/** The cached cart, or undefined when the entry is unreadable (then it is treated as a miss). */
export function decodeRecord(json: string, userId: number): CartRecord | undefined {
  // A plain parse, dates converted after: a reviver would run for every member of every line.
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const { lines } = value;
  if (value.userId !== userId || !Array.isArray(lines) || typeof value.version !== 'number') return undefined;
  const asDate = (field: unknown) => (typeof field === 'string' ? new Date(field) : field);
  value.createdAt = asDate(value.createdAt);
  value.updatedAt = asDate(value.updatedAt);
  for (const line of lines as Record<string, unknown>[]) {
    if (line !== null && typeof line === 'object') line.addedAt = asDate(line.addedAt);
  }
  return value as unknown as CartRecord;
}
