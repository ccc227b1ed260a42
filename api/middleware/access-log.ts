import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { AppEnv } from '../context.js';
import type { HttpMetrics } from '../metrics.js';

/** The route template a request matched (`/api/v1/orders/:order_id`), or `unmatched`. */
export function routeOf(c: Context): string {
  return matchedRoutes(c).findLast((r) => r.method !== 'ALL')?.path ?? 'unmatched';
}

/** One log line and one metric observation per request, labelled by route template, not raw path. */
export function accessLog(options: { metrics: HttpMetrics }): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    const route = routeOf(c);
    options.metrics.observe(c.req.method, route, c.res.status, seconds);
    const level = c.res.status >= 500 ? 'error' : 'info';
    c.get('logger')[level](
      {
        method: c.req.method,
        path: c.req.path,
        route,
        status: c.res.status,
        duration_ms: Math.round(seconds * 1000 * 10) / 10,
        user_id: c.get('user')?.id,
      },
      'request',
    );
  };
}
