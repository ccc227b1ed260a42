import { z } from 'zod';
import { parseDuration } from '../lib/duration.js';

/**
 * The original gateway's published secret. Never a default: anyone could mint an admin token with
 * it. An operator who wants tokens of the original `tokengen` to keep working sets it explicitly
 * as JWT_SECRET (a refused choice in production).
 */
export const ORIGINAL_GATEWAY_JWT_SECRET = 'Yn8x85spEjIXQnGlmaWAqbX9I6RS3ts2TBXUXQoyi2g=';

/** A duration within [min, max], both written as the configuration accepts them. */
const duration = (fallback: string, min: string, max: string) => {
  const [low, high] = [parseDuration(min) ?? 0, parseDuration(max) ?? Number.MAX_SAFE_INTEGER];
  return z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a duration like 500ms, 30s, 5m, 1h or milliseconds, got "${text}"`,
        });
        return z.NEVER;
      }
      if (ms < low || ms > high) {
        ctx.addIssue({ code: 'custom', message: `must be between ${min} and ${max}, got "${text}"` });
        return z.NEVER;
      }
      return ms;
    });
};

const integer = (fallback: number, min: number, max: number) =>
  z
    .string()
    .default(String(fallback))
    .transform((text, ctx) => {
      const value = Number(text);
      if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
        ctx.addIssue({ code: 'custom', message: `expected an integer in ${min}..${max}, got "${text}"` });
        return z.NEVER;
      }
      return value;
    });

const ratio = (fallback: number) =>
  z
    .string()
    .default(String(fallback))
    .transform((text, ctx) => {
      const value = Number(text);
      if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
        ctx.addIssue({ code: 'custom', message: `expected a number in 0..1, got "${text}"` });
        return z.NEVER;
      }
      return value;
    });

/** Unset and empty mean the same thing for optional URLs. */
const optionalUrl = (protocols: string[]) =>
  z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined || text.trim() === '') return undefined;
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'expected a URL' });
        return z.NEVER;
      }
      if (!protocols.includes(url.protocol)) {
        ctx.addIssue({ code: 'custom', message: `expected a ${protocols.join(' or ')} URL` });
        return z.NEVER;
      }
      return text;
    });

const hostPort = z
  .string()
  .optional()
  .transform((text, ctx) => {
    if (text === undefined || text.trim() === '') return undefined;
    if (!/^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/.test(text)) {
      ctx.addIssue({ code: 'custom', message: 'expected host:port' });
      return z.NEVER;
    }
    return text;
  });

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Loopback unless told otherwise: exposing the API is a decision, not a default. */
  HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  HTTP_PORT: integer(8080, 0, 65535),
  /** OTLP/HTTP endpoint traces are exported to (e.g. http://localhost:4318); tracing is off when unset. */
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl(['http:', 'https:']),
  /** The worker's Prometheus endpoint (its own and the Temporal SDK's metrics); 0 switches it off. */
  WORKER_METRICS_PORT: integer(9464, 0, 65535),
  PUBLIC_BASE_URL: optionalUrl(['http:', 'https:']),
  /** Browser origins allowed to call the API (comma-separated); none by default. */
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((text, ctx) => {
      const origins = text
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean);
      for (const origin of origins) {
        if (!/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/.test(origin)) {
          ctx.addIssue({
            code: 'custom',
            message: `expected origins like https://shop.example, got "${origin}"`,
          });
          return z.NEVER;
        }
      }
      return origins;
    }),
  /** Unset: `npm start` runs an embedded Postgres; the API and worker alone require it. */
  DATABASE_URL: optionalUrl(['postgres:', 'postgresql:']),
  DATABASE_POOL_MAX: integer(10, 1, 1000),
  /** Unset: `npm start` uses a local redis-server when installed; otherwise caching is off. */
  REDIS_URL: optionalUrl(['redis:', 'rediss:']),
  /** Unset: `npm start` runs the Temporal dev server; the API and worker alone default to localhost:7233. */
  TEMPORAL_ADDRESS: hostPort,
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /** Prepended to every task queue name; lets several deployments or test runs share one namespace. */
  TEMPORAL_TASK_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, dot, dash and underscore only')
    .default(''),
  TEMPORAL_CLI_PATH: z.string().optional(),
  TEMPORAL_UI_PORT: integer(8233, 1, 65535),
  TEMPORAL_PORT: integer(7233, 1, 65535),
  DATA_DIR: z.string().min(1).default('.data'),
  /** Unset outside production: a random secret generated once per data directory (infra/local-secrets.ts). */
  JWT_SECRET: z.string().min(16, 'at least 16 characters').optional(),
  /** Tokens older than this (by `iat`), or valid for longer than this from now, are refused. */
  JWT_MAX_AGE: duration('24h', '1m', '30d'),
  /** When set, tokens must carry this `iss` / `aud`. */
  JWT_ISSUER: z.string().min(1).optional(),
  JWT_AUDIENCE: z.string().min(1).optional(),
  PAYMENT_WEBHOOK_SECRET: z.string().min(16, 'at least 16 characters').optional(),
  PAYMENT_FAILURE_RATE: ratio(0),
  RESERVATION_TTL: duration('5m', '5s', '24h'),
  RESERVATION_SWEEP_GRACE: duration('1m', '0ms', '1h'),
  CHECKOUT_WAIT_MS: integer(10_000, 0, 60_000),
  /** Every request answers within this (503 `timeout` otherwise); above CHECKOUT_WAIT_MS. */
  REQUEST_TIMEOUT: duration('30s', '1s', '5m'),
  /** Per Postgres session: a statement running longer, or waiting longer for a lock, is cancelled. */
  DB_STATEMENT_TIMEOUT: duration('10s', '100ms', '10m'),
  DB_LOCK_TIMEOUT: duration('3s', '10ms', '1m'),
  RATE_LIMIT_RPS: integer(10, 0, 1_000_000),
  RATE_LIMIT_BURST: integer(20, 1, 1_000_000),
  CART_CACHE_TTL: duration('15m', '1s', '7d'),
  CART_CACHE_JITTER: duration('5m', '0ms', '1d'),
  /** Carts each process keeps in memory, confirmed against Postgres on every read; 0: none. */
  CART_MEMORY_CACHE_SIZE: integer(10_000, 0, 1_000_000),
  CART_IDLE_TTL: duration('90d', '1d', '3650d'),
  ORDER_SHIP_WINDOW: duration('30d', '1h', '365d'),
  ORDER_DELIVERY_WINDOW: duration('60d', '1h', '365d'),
});

type Env = z.output<typeof envSchema>;

export interface Config {
  env: Env['NODE_ENV'];
  logLevel: Env['LOG_LEVEL'];
  http: {
    host: string;
    port: number;
    publicBaseUrl: string | undefined;
    requestTimeoutMs: number;
    corsOrigins: string[];
    workerMetricsPort: number;
  };
  database: { url: string | undefined; poolMax: number; statementTimeoutMs: number; lockTimeoutMs: number };
  redis: { url: string | undefined };
  temporal: {
    address: string | undefined;
    namespace: string;
    taskQueuePrefix: string;
    cliPath: string | undefined;
    port: number;
    uiPort: number;
  };
  dataDir: string;
  tracing: { otlpEndpoint: string | undefined };
  /** `jwtSecret` undefined: use the data directory's local secret (never in production). */
  auth: {
    jwtSecret: string | undefined;
    maxAgeMs: number;
    issuer: string | undefined;
    audience: string | undefined;
  };
  /** `webhookSecret` undefined: use the data directory's local secret (never in production). */
  payments: { webhookSecret: string | undefined; failureRate: number };
  checkout: { reservationTtlMs: number; reservationSweepGraceMs: number; waitMs: number };
  rateLimit: { rps: number; burst: number };
  cart: { cacheTtlMs: number; cacheJitterMs: number; memoryCacheSize: number; idleTtlMs: number };
  orders: { shipWindowMs: number; deliveryWindowMs: number };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/**
 * Reads and validates the environment once. Returns a frozen, typed object, or throws
 * a ConfigError listing every bad variable. Nothing else in the code base reads process.env.
 */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const env = parsed.data;
  const problems: string[] = [];
  if (env.NODE_ENV === 'production') {
    if (!env.JWT_SECRET) problems.push('JWT_SECRET: must be set in production');
    if (env.JWT_SECRET === ORIGINAL_GATEWAY_JWT_SECRET) {
      problems.push("JWT_SECRET: the original gateway's published secret cannot be used in production");
    }
    if (!env.PAYMENT_WEBHOOK_SECRET) problems.push('PAYMENT_WEBHOOK_SECRET: must be set in production');
  }
  if (env.REQUEST_TIMEOUT <= env.CHECKOUT_WAIT_MS) {
    problems.push(
      'REQUEST_TIMEOUT: must be longer than CHECKOUT_WAIT_MS, or checkouts would time out while waiting',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return deepFreeze({
    env: env.NODE_ENV,
    logLevel: env.LOG_LEVEL,
    http: {
      host: env.HTTP_HOST,
      port: env.HTTP_PORT,
      publicBaseUrl: env.PUBLIC_BASE_URL,
      requestTimeoutMs: env.REQUEST_TIMEOUT,
      corsOrigins: env.CORS_ORIGINS,
      workerMetricsPort: env.WORKER_METRICS_PORT,
    },
    database: {
      url: env.DATABASE_URL,
      poolMax: env.DATABASE_POOL_MAX,
      statementTimeoutMs: env.DB_STATEMENT_TIMEOUT,
      lockTimeoutMs: env.DB_LOCK_TIMEOUT,
    },
    redis: { url: env.REDIS_URL },
    temporal: {
      address: env.TEMPORAL_ADDRESS,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueuePrefix: env.TEMPORAL_TASK_QUEUE_PREFIX,
      cliPath: env.TEMPORAL_CLI_PATH,
      port: env.TEMPORAL_PORT,
      uiPort: env.TEMPORAL_UI_PORT,
    },
    dataDir: env.DATA_DIR,
    tracing: { otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT },
    auth: {
      jwtSecret: env.JWT_SECRET,
      maxAgeMs: env.JWT_MAX_AGE,
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
    },
    payments: { webhookSecret: env.PAYMENT_WEBHOOK_SECRET, failureRate: env.PAYMENT_FAILURE_RATE },
    checkout: {
      reservationTtlMs: env.RESERVATION_TTL,
      reservationSweepGraceMs: env.RESERVATION_SWEEP_GRACE,
      waitMs: env.CHECKOUT_WAIT_MS,
    },
    rateLimit: { rps: env.RATE_LIMIT_RPS, burst: env.RATE_LIMIT_BURST },
    cart: {
      cacheTtlMs: env.CART_CACHE_TTL,
      cacheJitterMs: env.CART_CACHE_JITTER,
      memoryCacheSize: env.CART_MEMORY_CACHE_SIZE,
      idleTtlMs: env.CART_IDLE_TTL,
    },
    orders: { shipWindowMs: env.ORDER_SHIP_WINDOW, deliveryWindowMs: env.ORDER_DELIVERY_WINDOW },
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
