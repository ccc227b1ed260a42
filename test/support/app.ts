import type { OpenAPIHono } from '@hono/zod-openapi';
import { type AppDeps, createApp } from '../../api/app.js';
import type { AppEnv } from '../../api/context.js';
import { createMetricsRegistry } from '../../api/metrics.js';
import { DEV_JWT_SECRET } from '../../lib/config.js';
import { signToken } from '../../lib/jwt.js';
import { createLogger } from '../../lib/logger.js';
import { createCatalogService } from '../../services/catalog/catalog.service.js';
import type { TestDatabase } from './db.js';

export const TEST_JWT_SECRET = DEV_JWT_SECRET;

export interface TestAppOptions {
  db: TestDatabase;
  readiness?: AppDeps['readiness'];
}

/** The real app over real services on a test database; requests go through `app.request()`. */
export function createTestApp(options: TestAppOptions): OpenAPIHono<AppEnv> {
  return createApp({
    logger: createLogger({ level: 'silent' }),
    jwtSecret: TEST_JWT_SECRET,
    metrics: createMetricsRegistry(),
    readiness: options.readiness ?? { postgres: async () => 'ok' },
    services: { catalog: createCatalogService({ db: options.db.db }) },
  });
}

export const userToken = (userId: number) => signToken(TEST_JWT_SECRET, { userId });
export const adminToken = (userId = 1) => signToken(TEST_JWT_SECRET, { userId, admin: true });

export function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

export function jsonRequest(
  method: string,
  body: unknown,
  headers: Record<string, string> = {},
): RequestInit {
  return {
    method,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
}
