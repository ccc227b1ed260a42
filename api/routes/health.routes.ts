import { z } from '@hono/zod-openapi';
import { within } from '../../lib/within.js';
import type { Router } from '../route.js';

export type CheckResult = 'ok' | 'disabled';
/** A readiness probe: resolves 'ok' (or 'disabled' for an optional dependency), rejects when failing. */
export type ReadinessCheck = () => Promise<CheckResult>;

const CHECK_TIMEOUT_MS = 2_000;

const HealthSchema = z.object({ status: z.literal('ok') }).openapi('Health');
const ReadySchema = z
  .object({
    status: z.enum(['ok', 'unavailable']),
    checks: z.record(z.string(), z.enum(['ok', 'disabled', 'error', 'timeout'])),
  })
  .openapi('Readiness', {
    example: { status: 'ok', checks: { postgres: 'ok', redis: 'ok', temporal: 'ok' } },
  });

export function registerHealthRoutes(
  router: Router,
  { checks }: { checks: Record<string, ReadinessCheck> },
): void {
  router.route(
    {
      method: 'get',
      path: '/health',
      operationId: 'health',
      summary: 'Liveness',
      description: 'Answers while the process serves HTTP; checks no dependency.',
      tags: ['Operations'],
      access: 'public',
      probe: true,
      responses: { 200: { description: 'Alive', schema: HealthSchema } },
    },
    (c) => c.json({ status: 'ok' as const }),
  );

  router.route(
    {
      method: 'get',
      path: '/ready',
      operationId: 'ready',
      summary: 'Readiness',
      description:
        'Checks Postgres, Redis and Temporal. Redis reported as `disabled` does not fail readiness.',
      tags: ['Operations'],
      access: 'public',
      probe: true,
      responses: {
        200: { description: 'Ready', schema: ReadySchema },
        503: { description: 'A dependency is failing', schema: ReadySchema },
      },
    },
    async (c) => {
      const entries = await Promise.all(
        Object.entries(checks).map(async ([name, check]) => [name, await runCheck(check)] as const),
      );
      const results = Object.fromEntries(entries);
      const ready = entries.every(([, result]) => result === 'ok' || result === 'disabled');
      c.header('Cache-Control', 'no-store');
      return c.json({ status: ready ? 'ok' : 'unavailable', checks: results }, ready ? 200 : 503);
    },
  );
}

async function runCheck(check: ReadinessCheck): Promise<CheckResult | 'error' | 'timeout'> {
  try {
    return (await within(check(), CHECK_TIMEOUT_MS)) ?? 'timeout';
  } catch {
    return 'error';
  }
}
