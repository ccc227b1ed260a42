import { serve } from '@hono/node-server';
import { Hono } from 'hono';

/**
 * The framework's own speed, the denominator of the read benchmarks: a bare Hono JSON endpoint on
 * the same Node.js, `c.json()` of the very payload the platform answers (passed in by the
 * orchestrator, fetched from the real API), with no middleware, no database and no cache.
 * Prints its port on stdout once listening.
 */
const payloads = JSON.parse(process.argv[2] ?? '{}') as Record<string, string>;
const app = new Hono();
for (const [path, body] of Object.entries(payloads)) {
  const payload = JSON.parse(body) as object;
  app.get(path, (c) => c.json(payload));
}
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
  console.log(JSON.stringify({ port: info.port }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
