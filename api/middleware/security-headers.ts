import type { ServerResponse } from 'node:http';
import type { Context } from 'hono';

/**
 * The security headers of a JSON API (OWASP's REST Security Cheat Sheet), set on every answer,
 * errors included, by the edge (api/edge.ts). Answers are not to be stored unless a route says
 * otherwise (the public catalog reads revalidate with ETags), framed, sniffed or sent over plain
 * HTTP once a browser has seen HTTPS. Helmet's browser-page set (Hono's `secureHeaders()`) adds
 * six more headers that mean nothing to a JSON client.
 */
export const SECURITY_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['Cache-Control', 'no-store'],
  ['Content-Security-Policy', "frame-ancestors 'none'"],
  ['Referrer-Policy', 'no-referrer'],
  ['Strict-Transport-Security', 'max-age=31536000; includeSubDomains'],
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'DENY'],
];

/**
 * Sets a header every answer to this request carries, before the handler runs. Served by
 * @hono/node-server it goes straight onto Node's response, which merges it into whatever the
 * handler answers; elsewhere (`app.request()` in tests) onto the context's headers. Not through
 * the fetch `Headers` class: each header there costs about 2 us of CPU, and setting them on the
 * finished response (as `secureHeaders()` does) costs more again (docs/performance.md). A header
 * the handler's answer sets itself takes precedence either way.
 */
export function presetHeader(c: Context, name: string, value: string): void {
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  if (outgoing && typeof outgoing.setHeader === 'function' && !outgoing.headersSent)
    outgoing.setHeader(name, value);
  else c.header(name, value);
}
