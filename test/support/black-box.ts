import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SignJWT } from 'jose';

/**
 * A client of the platform as the outside world sees it: HTTP on its published port, tokens
 * minted the way the contract describes, and the few facts `npm start` prints or keeps in its
 * data directory (the start banner, `secrets.json`). Nothing here imports the platform's code,
 * so the end-to-end suite and the chaos run test what a user would run.
 */

export interface Answer<T = unknown> {
  status: number;
  headers: Headers;
  /** The parsed JSON body (problem documents included), else the raw text. */
  body: T;
  text: string;
}

// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field and asserted on.
export type Json = any;

export interface CallOptions {
  token?: string | undefined;
  /** Serialised as JSON with `Content-Type: application/json`. */
  json?: unknown;
  /** A raw body, sent as it is (with `contentType`, default none). */
  body?: string | undefined;
  contentType?: string | undefined;
  headers?: Record<string, string>;
  /** Per call; default the client's. */
  timeoutMs?: number;
}

export interface ApiClientOptions {
  /** Waits `Retry-After` and repeats a 429 (a polite client); off to observe rate limiting. */
  retryRateLimited?: boolean;
  timeoutMs?: number;
  /** Sees every answer (e.g. to record which routes and codes a suite exercised). */
  onAnswer?: (method: string, path: string, answer: Answer<Json>) => void;
}

export class ApiClient {
  readonly baseUrl: string;
  readonly #options: ApiClientOptions;

  constructor(baseUrl: string, options: ApiClientOptions = {}) {
    this.baseUrl = baseUrl;
    this.#options = options;
  }

  /** The same client without 429 retries, to watch the limiter at work. */
  withoutRetries(): ApiClient {
    return new ApiClient(this.baseUrl, { ...this.#options, retryRateLimited: false });
  }

  async call(method: string, path: string, options: CallOptions = {}): Promise<Answer<Json>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.Authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['Content-Type'] = 'application/json';
    } else if (options.body !== undefined) {
      body = options.body;
      if (options.contentType) headers['Content-Type'] = options.contentType;
    }
    for (let attempt = 0; ; attempt++) {
      const response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(options.timeoutMs ?? this.#options.timeoutMs ?? 60_000),
      });
      const text = await response.text();
      let parsed: unknown = text;
      if (/json/.test(response.headers.get('content-type') ?? '') && text !== '') parsed = JSON.parse(text);
      const answer: Answer<Json> = { status: response.status, headers: response.headers, body: parsed, text };
      this.#options.onAnswer?.(method, path, answer);
      if (response.status === 429 && this.#options.retryRateLimited !== false && attempt < 50) {
        await sleep(Number(response.headers.get('retry-after') ?? '1') * 1000);
        continue;
      }
      return answer;
    }
  }

  get = (path: string, options?: CallOptions) => this.call('GET', path, options);
  post = (path: string, options?: CallOptions) => this.call('POST', path, options);
  put = (path: string, options?: CallOptions) => this.call('PUT', path, options);
  patch = (path: string, options?: CallOptions) => this.call('PATCH', path, options);
  delete = (path: string, options?: CallOptions) => this.call('DELETE', path, options);
}

export interface TokenOptions {
  userId?: number | string;
  /** `role: "admin"`. */
  admin?: boolean;
  /** A numeric string `sub` instead of `user_id`. */
  sub?: string;
  expiresInSeconds?: number;
  /** Another signing algorithm (HS512, ...): the contract accepts HS256 only. */
  alg?: string;
  /** Leaves out `exp` (the contract requires it). */
  noExpiry?: boolean;
  issuer?: string;
}

/**
 * An HS256 bearer token as the original gateway's `tokengen` minted it: the integer claim
 * `user_id`, issuer `ecommerce-platform`, 24 hours of validity; plus `role: "admin"` when asked.
 */
export async function mintToken(secret: string, options: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {};
  if (options.userId !== undefined) claims.user_id = options.userId;
  if (options.sub !== undefined) claims.sub = options.sub;
  if (options.admin) claims.role = 'admin';
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT' })
    .setIssuer(options.issuer ?? 'ecommerce-platform')
    .setIssuedAt(now);
  if (!options.noExpiry) jwt.setExpirationTime(now + (options.expiresInSeconds ?? 24 * 3600));
  return jwt.sign(new TextEncoder().encode(secret));
}

/** An unsigned token (`alg: none`), which the contract refuses. */
export function unsignedToken(claims: Record<string, unknown>): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`;
}

/** `X-Signature` of a payment webhook as the contract defines it: `sha256=` and the hex HMAC-SHA256 of the raw body. */
export function signWebhookBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface PlatformSecrets {
  jwtSecret: string;
  webhookSecret: string;
}

/** The secrets `npm start` generated in its data directory (`secrets.json`, as the README says). */
export function readPlatformSecrets(dataDir: string): PlatformSecrets {
  const raw = JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8')) as {
    jwt_secret: string;
    webhook_secret: string;
  };
  return { jwtSecret: raw.jwt_secret, webhookSecret: raw.webhook_secret };
}

export interface BannerFacts {
  /** Postgres URL with the embedded server's fixed password (the banner masks it). */
  databaseUrl: string;
  temporalAddress: string;
  redisUrl: string | undefined;
}

/** What the start banner tells an operator: where Postgres, Temporal and Redis listen. */
export function readBanner(output: string): BannerFacts {
  const line = (label: string) => new RegExp(`^  ${label} {2,}(\\S+)`, 'm').exec(output)?.[1];
  const postgres = line('Postgres');
  const temporal = line('Temporal');
  if (!postgres || !temporal) throw new Error('the start banner names no Postgres or Temporal');
  const redis = line('Redis');
  return {
    // The embedded server's credentials are postgres/postgres (README, "Quick start").
    databaseUrl: postgres.replace(':***@', ':postgres@'),
    temporalAddress: temporal,
    redisUrl: redis && redis !== 'disabled' ? redis : undefined,
  };
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 30_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await sleep(intervalMs);
  }
}
