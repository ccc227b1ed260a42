import { expect } from 'vitest';
import {
  type Answer,
  ApiClient,
  type BannerFacts,
  eventually,
  type Json,
  mintToken,
  type PlatformSecrets,
  readBanner,
  readPlatformSecrets,
} from '../support/black-box.js';
import { type NpmStart, startNpmStart } from '../support/npm-start.js';

/**
 * The routes of the REST contract (../shared/API.md), as `METHOD /template`. The suite checks
 * that each was called and that the OpenAPI document lists exactly these.
 */
export const CONTRACT_ROUTES = [
  'GET /health',
  'GET /ready',
  'GET /openapi.json',
  'GET /docs',
  'GET /metrics',
  'GET /api/v1/products',
  'GET /api/v1/products/{id}',
  'POST /api/v1/products',
  'PATCH /api/v1/products/{id}',
  'DELETE /api/v1/products/{id}',
  'GET /api/v1/inventory/{product_id}',
  'PUT /api/v1/inventory/{product_id}',
  'GET /api/v1/cart',
  'POST /api/v1/cart/items',
  'PUT /api/v1/cart/items/{product_id}',
  'DELETE /api/v1/cart/items/{product_id}',
  'DELETE /api/v1/cart',
  'POST /api/v1/checkout',
  'GET /api/v1/checkout/{checkout_id}',
  'POST /api/v1/checkout/{checkout_id}/cancel',
  'POST /api/v1/payments/webhook',
  'GET /api/v1/orders',
  'GET /api/v1/orders/{order_id}',
  'POST /api/v1/orders/{order_id}/cancel',
  'POST /api/v1/orders/{order_id}/ship',
  'POST /api/v1/orders/{order_id}/deliver',
] as const;

/** The contract's error codes (API.md, "Error codes"). */
export const CONTRACT_ERROR_CODES = [
  'invalid_request',
  'invalid_argument',
  'invalid_product_id',
  'invalid_quantity',
  'missing_idempotency_key',
  'idempotency_key_reused',
  'unauthenticated',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'conflict',
  'payload_too_large',
  'rate_limited',
  'cart_full',
  'cart_empty',
  'checkout_in_progress',
  'insufficient_stock',
  'product_unavailable',
  'payment_declined',
  'reservation_expired',
  'checkout_cancelled',
  'checkout_not_cancellable',
  'order_not_cancellable',
  'service_unavailable',
  'timeout',
  'internal_error',
] as const;

/**
 * `internal_error` is what a bug looks like from outside: no request of the contract is meant
 * to produce it, so the suite asserts it never saw one instead of provoking it.
 */
export const CODES_NOT_PROVOKED = ['internal_error'];

const templates = CONTRACT_ROUTES.map((route) => {
  const [method, template] = route.split(' ') as [string, string];
  const pattern = new RegExp(`^${template.replace(/\{[a-z_]+\}/g, '[^/]+')}$`);
  return { route, method, pattern };
});

/** `METHOD /template` of a concrete request, or undefined for a path outside the contract. */
export function routeOf(method: string, path: string): string | undefined {
  const bare = path.split('?')[0] ?? path;
  return templates.find((entry) => entry.method === method && entry.pattern.test(bare))?.route;
}

export interface Coverage {
  /** Route -> statuses answered. */
  routes: Map<string, Set<number>>;
  /** Error code -> `METHOD path -> status` of the first answer carrying it. */
  codes: Map<string, string>;
}

export interface E2E {
  platform: NpmStart;
  api: ApiClient;
  secrets: PlatformSecrets;
  banner: BannerFacts;
  coverage: Coverage;
  /** A user id no other test uses (a fresh cart, own rate-limit budget). */
  newUser(): number;
  token(userId: number): Promise<string>;
  adminToken(): Promise<string>;
}

let nextUser = 10_000;

/**
 * Starts the platform as `npm start` does (a child process, a fresh data directory, free ports)
 * with the configuration a user would set, and waits until it is ready.
 */
export async function startE2E(env: Record<string, string>): Promise<E2E> {
  const coverage: Coverage = { routes: new Map(), codes: new Map() };
  const platform = await startNpmStart({ WORKER_METRICS_PORT: '0', ...env });
  const api = new ApiClient(platform.baseUrl, {
    onAnswer: (method, path, answer) => record(coverage, method, path, answer),
  });
  try {
    await eventually(
      'npm start to be ready',
      async () => {
        if (!platform.output().includes('The platform is up:')) return undefined;
        const ready = await fetch(`${platform.baseUrl}/ready`).catch(() => undefined);
        return ready?.status === 200 ? true : undefined;
      },
      { timeoutMs: 170_000, intervalMs: 250 },
    );
  } catch (error) {
    const output = platform.output().slice(-4_000);
    await platform.destroy();
    throw new Error(`${(error as Error).message}\n--- npm start output ---\n${output}`);
  }
  const secrets = readPlatformSecrets(platform.dataDir);
  return {
    platform,
    api,
    secrets,
    banner: readBanner(platform.output()),
    coverage,
    newUser: () => nextUser++,
    token: (userId) => mintToken(secrets.jwtSecret, { userId }),
    adminToken: () => mintToken(secrets.jwtSecret, { userId: 1, admin: true }),
  };
}

function record(coverage: Coverage, method: string, path: string, answer: Answer<Json>): void {
  const route = routeOf(method, path);
  if (route) {
    const statuses = coverage.routes.get(route) ?? new Set<number>();
    statuses.add(answer.status);
    coverage.routes.set(route, statuses);
  }
  const code = typeof answer.body === 'object' && answer.body !== null ? answer.body.code : undefined;
  if (answer.status >= 400 && typeof code === 'string' && !coverage.codes.has(code)) {
    coverage.codes.set(code, `${method} ${path} -> ${answer.status}`);
  }
}

/**
 * Asserts an answer is the contract's problem document with this status and code: RFC 9457
 * fields, `error` repeating `detail`, the request id of the `X-Request-ID` header, and nothing
 * internal (stack traces, SQL, driver text). Returns the body.
 */
export function expectProblem(answer: Answer<Json>, status: number, code: string): Json {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.headers.get('content-type')).toBe('application/problem+json');
  const body = answer.body;
  expect(body).toMatchObject({ status, code, type: expect.any(String), title: expect.any(String) });
  expect(typeof body.detail).toBe('string');
  expect(body.error).toBe(body.detail);
  expect(body.request_id).toBe(answer.headers.get('x-request-id'));
  expect(answer.text).not.toMatch(
    /\bat .*\.[jt]s:\d|stack|\bselect\b.*\bfrom\b|postgres|ECONN|\btemporal\b|grpc/i,
  );
  return body;
}

/** Asserts a JSON success answer and returns its body. */
export function expectOk(answer: Answer<Json>, status = 200): Json {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  expect(answer.headers.get('x-request-id')).toBeTruthy();
  return answer.body;
}

/** Money fields of the contract: integer cents and a decimal derived from them. */
export function expectMoney(cents: unknown, decimal: unknown): void {
  expect(Number.isSafeInteger(cents)).toBe(true);
  expect(decimal).toBe((cents as number) / 100);
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
