import { createHash } from 'node:crypto';
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { presetHeader } from './middleware/security-headers.js';
import type { ResponseSpec } from './route.js';

/** Public catalog answers may be stored by anyone, but must be revalidated on every use. */
export const REVALIDATE = 'public, no-cache';

/** The request header of a conditional read, as documented on the routes that honour it. */
export const ConditionalReadHeaders = z.object({
  'If-None-Match': z.string().optional().openapi({
    description: 'ETags of copies the client holds; 304 when the current answer is one of them.',
  }),
});

/** The documented headers of a cacheable 200, and its 304. */
export const cacheableResponses = (ok: ResponseSpec): Record<number, ResponseSpec> => ({
  200: {
    ...ok,
    headers: {
      ETag: {
        description: 'Names exactly these bytes; send it back in If-None-Match.',
        schema: { type: 'string' },
      },
      'Cache-Control': {
        description: `\`${REVALIDATE}\`: revalidate before every use.`,
        schema: { type: 'string' },
      },
    },
  },
  304: { description: 'Not modified: the copy whose ETag the client sent is current.' },
});

interface Rendered {
  body: string;
  etag: string;
}
const rendered = new WeakMap<object, Rendered>();

/**
 * Answers a public read of `source` as JSON with an ETag and `Cache-Control: public, no-cache`,
 * or 304 without a body when If-None-Match holds that ETag (a weak comparison, RFC 9110 13.1.2).
 * `source` is as fresh as Postgres (the catalog's coalesced reads), so a 304 is never stale, and
 * the ETag is a hash of the bytes, the same on every replica.
 *
 * Rendering is memoised on `source`'s identity: coalesced reads hand the same frozen object to
 * every request that shared a statement, so a busy product is serialised and hashed once per
 * statement rather than once per request.
 */
export function cacheableJson(c: Context, source: object, render: () => unknown): Response {
  let answer = rendered.get(source);
  if (!answer) {
    const body = JSON.stringify(render());
    answer = { body, etag: `"${createHash('sha1').update(body).digest('base64url')}"` };
    rendered.set(source, answer);
  }
  presetHeader(c, 'ETag', answer.etag);
  presetHeader(c, 'Cache-Control', REVALIDATE);
  if (holds(c.req.header('If-None-Match'), answer.etag)) return c.body(null, 304);
  return c.body(answer.body, 200, { 'Content-Type': 'application/json' });
}

/** Whether an If-None-Match value names `etag` (or is `*`). */
function holds(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  for (const candidate of ifNoneMatch.split(',')) {
    const tag = candidate.trim();
    if (tag === '*' || (tag.startsWith('W/') ? tag.slice(2) : tag) === etag) return true;
  }
  return false;
}
