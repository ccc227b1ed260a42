import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Registry } from 'prom-client';
import { ERROR_CODES, type ErrorCode } from '../../lib/errors.js';
import type { AppEnv } from '../context.js';
import { edgeLink } from '../edge.js';
import { PROBLEM_CONTENT_TYPE, problemResponse } from '../problem.js';
import { ProblemSchema } from '../schemas/common.js';

const require = createRequire(import.meta.url);
const SWAGGER_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
};

const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Commerce API reference</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="reference"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: '/openapi.json',
      dom_id: '#reference',
      deepLinking: true,
      persistAuthorization: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: 'StandaloneLayout',
      // The default badge loads an image from validator.swagger.io, sending it this spec's URL.
      validatorUrl: null,
    });
  </script>
</body>
</html>`;

/**
 * The OpenAPI document (generated from the route declarations), an interactive reference
 * served entirely from local assets (works with no internet access) and Prometheus metrics.
 */
export function registerDocsRoutes(app: OpenAPIHono<AppEnv>, { metrics }: { metrics: Registry }): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'HS256 token with `exp` and an integer `user_id` (or numeric `sub`); `role: "admin"` for admin routes.',
  });

  // Served by the app itself rather than through the router: never rate limited (no 429), and
  // no input to refuse. None waits on I/O (the document and the page are built in memory, every
  // metrics collector is synchronous), so the request deadline cannot pass (no 503); any route
  // can fail unexpectedly (500). Another method on these paths is 405 with `Allow: GET, HEAD`, as
  // on every path, which no GET operation can describe. `/docs/assets/{file}` is left out on
  // purpose: the document lists exactly the contract's routes (API.md).
  for (const [path, operationId, summary, contentType] of [
    ['/openapi.json', 'openapi', 'This OpenAPI 3.1 document', 'application/json'],
    ['/docs', 'docs', 'Interactive API reference (served from local assets; works offline)', 'text/html'],
    ['/metrics', 'metrics', 'Prometheus metrics (HTTP traffic, cart cache hit rate, process)', 'text/plain'],
  ] as const) {
    app.openAPIRegistry.registerPath({
      method: 'get',
      path,
      operationId,
      summary,
      tags: ['Operations'],
      responses: {
        200: { description: summary, content: { [contentType]: { schema: { type: 'string' } } } },
        ...problems(['internal_error']),
      },
    });
  }

  // Their handlers are the app's own, not the router's: each path links its context to the edge.
  for (const path of ['/openapi.json', '/docs', '/docs/assets/:file', '/metrics']) app.use(path, edgeLink);

  let document: unknown;
  app.get('/openapi.json', (c) => {
    document ??= app.getOpenAPI31Document({
      openapi: '3.1.0',
      info: {
        title: 'Commerce API',
        version: '1.0.0',
        description:
          'Catalog, inventory, carts, checkout and orders. Errors are RFC 9457 problem documents with a stable `code`.',
      },
      tags: [
        { name: 'Catalog', description: 'Products and stock' },
        { name: 'Cart', description: "The signed-in user's cart" },
        { name: 'Checkout', description: 'Checking out a cart and the payment provider webhook' },
        { name: 'Orders', description: "The signed-in user's orders; shipping and delivery (admin)" },
        { name: 'Operations', description: 'Health, readiness, metrics and documentation' },
      ],
    });
    return c.json(document);
  });

  app.get('/docs', (c) => c.html(DOCS_HTML));

  const assetCache = new Map<string, string>();
  app.get('/docs/assets/:file', async (c) => {
    const file = c.req.param('file');
    const type = ASSETS[file];
    // Not c.notFound(): the app's not-found handler would see a GET route on this path and say 405.
    if (!type) return problemResponse(c, 'not_found', `no file ${file} in the API reference's assets`);
    let body = assetCache.get(file);
    if (body === undefined) {
      body = await readFile(join(SWAGGER_DIR, file), 'utf8');
      assetCache.set(file, body);
    }
    return c.body(body, 200, { 'Content-Type': type, 'Cache-Control': 'public, max-age=86400' });
  });

  app.get('/metrics', async (c) =>
    c.body(await metrics.metrics(), 200, { 'Content-Type': metrics.contentType }),
  );
}

/** The problem answers with these codes, one response per status, as the router documents them. */
function problems(codes: ErrorCode[]): Record<string, object> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const { status } = ERROR_CODES[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, statusCodes]) => [
      String(status),
      {
        description: `Problem: ${statusCodes.map((code) => `\`${code}\``).join(', ')}`,
        content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } },
      },
    ]),
  );
}
