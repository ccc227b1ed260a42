import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { type ServerType, serve } from '@hono/node-server';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/support/app.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.js';
import { expectProblem } from '../../test/support/problem.js';
import { createRateLimiter } from '../middleware/rate-limit.js';

/**
 * `/docs` in a real headless Chromium with the internet cut off: every request that does not go
 * to the app is aborted and recorded, and the reference must still render every operation.
 */
const CHROMIUM = '/usr/bin/chromium';
// Swagger UI skips some outside calls (the online validator badge) for localhost and 127.0.0.1
// spec URLs, so the browser reaches the loopback server under a name a deployment would have,
// and treats that origin as the HTTPS one it is in production (docs/security.md), where the
// Cross-Origin-Opener-Policy header applies instead of being reported as ignored.
const HOST = 'api.commerce.test';

let db: TestDatabase;
let app: TestApp['app'];
let server: ServerType;
let origin: string;
let workDir: string;
let context: BrowserContext;
let keepScreenshot = false;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} not found: the /docs browser test needs Debian's Chromium. Run \`apt-get install -y chromium\` (as root); .ci/run installs it on CI.`,
    );
  }
  db = await createTestDatabase({ max: 2 });
  ({ app } = createTestApp({ db }));
  server = await new Promise<ServerType>((resolve) => {
    const started = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(started));
  });
  origin = `http://${HOST}:${(server.address() as AddressInfo).port}`;
  workDir = mkdtempSync(join(tmpdir(), 'commerce-docs-'));
  context = await chromium.launchPersistentContext(join(workDir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--host-resolver-rules=MAP ${HOST} 127.0.0.1`,
      `--unsafely-treat-insecure-origin-as-secure=${origin}`,
    ],
  });
});

afterAll(async () => {
  await context?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await db?.destroy();
  if (workDir) rmSync(keepScreenshot ? join(workDir, 'profile') : workDir, { recursive: true, force: true });
});

describe('the documentation routes answer what the OpenAPI document says, and nothing else', () => {
  const operations = async () =>
    (
      (await (await app.request('/openapi.json')).json()) as {
        paths: Record<string, { get: { responses: Record<string, unknown> } }>;
      }
    ).paths;

  it('lists each answer of each route: never 429 (not rate limited) nor 503 (nothing to wait for)', async () => {
    const paths = await operations();
    const answers = Object.fromEntries(
      ['/openapi.json', '/docs', '/metrics'].map((path) => [
        path,
        Object.keys(paths[path]?.get.responses ?? {}),
      ]),
    );
    expect(answers).toEqual({
      '/openapi.json': ['200', '500'],
      '/docs': ['200', '500'],
      '/metrics': ['200', '500'],
    });
  });

  it('answers them with the documented statuses and types; an unknown asset is 404, another method 405', async () => {
    for (const [path, type] of [
      ['/openapi.json', 'application/json'],
      ['/docs', 'text/html'],
      ['/docs/assets/swagger-ui.css', 'text/css'],
      ['/docs/assets/swagger-ui-bundle.js', 'text/javascript'],
      ['/metrics', 'text/plain'],
    ] as const) {
      const response = await app.request(path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type'), path).toContain(type);
    }
    await expectProblem(await app.request('/docs/assets/swagger-ui.js'), 404, 'not_found');
    for (const path of ['/openapi.json', '/docs', '/docs/assets/swagger-ui.css', '/metrics']) {
      const response = await app.request(path, { method: 'POST' });
      await expectProblem(response, 405, 'method_not_allowed');
      expect(response.headers.get('allow')).toBe('GET, HEAD');
    }
  });

  it('answers within any request deadline: nothing there waits on I/O once the assets are read', async () => {
    const hurried = createTestApp({ db, requestTimeoutMs: 0 }).app;
    for (const path of ['/openapi.json', '/docs', '/metrics']) {
      expect((await hurried.request(path)).status, path).toBe(200);
    }
  });

  it('is never rate limited, even for a caller far over the limit', async () => {
    const limited = createTestApp({
      db,
      rateLimiter: createRateLimiter({ rps: 1, burst: 1, redis: undefined }),
    }).app;
    const statuses = new Set<number>();
    for (let i = 0; i < 5; i += 1) {
      for (const path of ['/openapi.json', '/docs', '/docs/assets/swagger-ui.css', '/metrics']) {
        const response = await limited.request(path);
        statuses.add(response.status);
        expect(response.headers.get('ratelimit-limit')).toBeNull();
      }
    }
    expect([...statuses]).toEqual([200]);
    // A rate-limited route of the same app does refuse by then.
    const catalog = [];
    for (let i = 0; i < 3; i += 1) catalog.push((await limited.request('/api/v1/products')).status);
    expect(catalog).toContain(429);
  });
});

describe('GET /docs in a browser with no internet', () => {
  it('renders every operation from local assets alone, with no console errors', async ({ onTestFailed }) => {
    const screenshot = join(workDir, 'docs.png');
    onTestFailed(() => {
      keepScreenshot = true;
      console.error(`/docs screenshot kept at ${screenshot} (if it was taken)`);
    });
    const outside: string[] = [];
    const failed: string[] = [];
    const consoleErrors: string[] = [];
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (new URL(url).origin === origin) return route.continue();
      outside.push(url);
      return route.abort('internetdisconnected');
    });
    const page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    page.on('requestfailed', (request) => failed.push(`${request.url()}: ${request.failure()?.errorText}`));
    page.on('response', (response) => {
      if (response.status() >= 400) failed.push(`${response.url()}: HTTP ${response.status()}`);
    });

    const spec = (await (await app.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { tags?: string[] }>>;
    };
    const specOperations = Object.entries(spec.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, { tags = [] }]) => ({
        name: `${method.toUpperCase()} ${path}`,
        tags,
      })),
    );
    const expected = specOperations.map(({ name }) => name).sort();
    const expectedTags = [...new Set(specOperations.flatMap(({ tags }) => tags))].sort();

    const response = await page.goto(`${origin}/docs`);
    expect(response?.status()).toBe(200);
    const operations = page.locator('.opblock-summary');
    const appeared = await operations
      .first()
      .waitFor({ timeout: 15_000 })
      .then(
        () => true,
        () => false,
      );
    expect(
      appeared,
      `no operation rendered; console: ${consoleErrors}; blocked: ${outside}; failed: ${failed}`,
    ).toBe(true);
    await expect.poll(() => operations.count()).toBe(expected.length);
    await page.waitForLoadState('networkidle');
    await page.screenshot({ path: screenshot, fullPage: true });

    expect(outside, 'requests that left the app').toEqual([]);
    expect(failed, 'requests that failed').toEqual([]);
    expect(consoleErrors, 'console errors').toEqual([]);

    const rendered = await operations.evaluateAll((blocks) =>
      blocks.map(
        (block) =>
          `${block.querySelector('.opblock-summary-method')?.textContent} ${block.querySelector('.opblock-summary-path')?.getAttribute('data-path')}`,
      ),
    );
    expect(rendered.sort()).toEqual(expected);
    expect(rendered).toEqual(
      expect.arrayContaining(['POST /api/v1/checkout', 'GET /api/v1/products', 'GET /api/v1/orders']),
    );
    const tags = await page
      .locator('.opblock-tag')
      .evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-tag')));
    expect(tags.sort()).toEqual(expectedTags);
    expect(tags).toEqual(expect.arrayContaining(['Catalog', 'Cart', 'Checkout', 'Orders', 'Operations']));
    expect(await page.locator('.info .title').textContent()).toContain('Commerce API');

    const bytes = statSync(screenshot).size;
    expect(bytes).toBeGreaterThan(50_000);
    expect(bytes).toBeLessThan(20_000_000);
    const image = decodePng(screenshot);
    expect(image.width).toBe(1280);
    expect(image.height).toBeGreaterThan(2_000);
    // Not blank: many colors, and Swagger UI's colored method badges are really painted.
    expect(image.colors.size).toBeGreaterThan(50);
    expect(image.count(0x61affe), 'pixels of GET badges').toBeGreaterThan(500);
    expect(image.count(0x49cc90), 'pixels of POST badges').toBeGreaterThan(500);
    await page.close();
  });
});

interface DecodedPng {
  width: number;
  height: number;
  colors: Set<number>;
  /** How many pixels have exactly this 0xRRGGBB color. */
  count(rgb: number): number;
}

/** Decodes the 8-bit RGB/RGBA, non-interlaced PNGs that Chromium writes. */
function decodePng(path: string): DecodedPng {
  const file = readFileSync(path);
  expect(file.subarray(1, 4).toString('latin1')).toBe('PNG');
  let width = 0;
  let height = 0;
  let channels = 0;
  const data: Buffer[] = [];
  for (let at = 8; at < file.length; ) {
    const length = file.readUInt32BE(at);
    const type = file.subarray(at + 4, at + 8).toString('latin1');
    const body = file.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      expect([body[8], body[12]]).toEqual([8, 0]);
      channels = body[9] === 6 ? 4 : body[9] === 2 ? 3 : 0;
      expect(channels).toBeGreaterThan(0);
    }
    if (type === 'IDAT') data.push(body);
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(data));
  const stride = width * channels;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const value = raw[y * (stride + 1) + 1 + x] ?? 0;
      const left = x >= channels ? (pixels[y * stride + x - channels] ?? 0) : 0;
      const up = y > 0 ? (pixels[(y - 1) * stride + x] ?? 0) : 0;
      const upLeft = x >= channels && y > 0 ? (pixels[(y - 1) * stride + x - channels] ?? 0) : 0;
      let predicted = 0;
      if (filter === 1) predicted = left;
      else if (filter === 2) predicted = up;
      else if (filter === 3) predicted = (left + up) >> 1;
      else if (filter === 4) {
        const p = left + up - upLeft;
        const [pa, pb, pc] = [Math.abs(p - left), Math.abs(p - up), Math.abs(p - upLeft)];
        predicted = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
      }
      pixels[y * stride + x] = (value + predicted) & 0xff;
    }
  }
  const histogram = new Map<number, number>();
  for (let at = 0; at < pixels.length; at += channels) {
    const rgb = ((pixels[at] ?? 0) << 16) | ((pixels[at + 1] ?? 0) << 8) | (pixels[at + 2] ?? 0);
    histogram.set(rgb, (histogram.get(rgb) ?? 0) + 1);
  }
  return {
    width,
    height,
    colors: new Set(histogram.keys()),
    count: (rgb) => histogram.get(rgb) ?? 0,
  };
}
