import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { trace } from '@opentelemetry/api';
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { createLineWriter, type Logger } from '../infra/logger.js';
import type { AppEnv } from './context.js';
import type { HttpMetrics } from './metrics.js';
import { SECURITY_HEADERS } from './middleware/security-headers.js';
import { PROBLEM_CONTENT_TYPE, problemJson } from './problem.js';

/**
 * What every request gets around the app, done once per request outside Hono's middleware chain
 * (docs/performance.md measured that chain's per-request promises, timer and child logger at
 * about half of a cheap route's CPU):
 *
 * - a request id: a well-formed incoming `X-Request-ID`, or a new UUID; handlers read it as
 *   `c.get('requestId')`, problem documents carry it, and so does the answer's header;
 * - the security headers (and `X-Request-ID`) on every answer, errors and timeouts included,
 *   where a route's own header (a catalog read's `Cache-Control`) wins;
 * - a deadline: an answer that is not ready after `timeoutMs` is replaced by 503 `timeout` with
 *   `Retry-After`; the work goes on and its late answer is dropped. In-flight requests are kept
 *   in start order and swept by one timer, so a request costs no timer of its own;
 * - one access-log line and one metrics observation, labelled by route template.
 */
export interface EdgeOptions {
  logger: Logger;
  metrics: HttpMetrics;
  timeoutMs: number;
  /** Tracing on: the access line carries the request's trace and span ids. */
  tracing?: boolean;
}

/** What the edge keeps of one request; `linkEdge` hands it the request's Hono context. */
interface EdgeRecord {
  id: string;
  request: Request;
  started: number;
  /** The edge's headers went onto Node's response before the app ran. */
  preset: boolean;
  context: Context<AppEnv> | undefined;
  /** Tracing is on: linking reads the request's server span. */
  tracing: boolean;
  /** `"trace_id":...,"span_id":...` of the request's server span, when tracing is on. */
  trace: string;
}

/** The env @hono/node-server passes (`incoming`, `outgoing`), plus the edge's record. */
interface EdgeEnv {
  incoming?: IncomingMessage;
  outgoing?: ServerResponse;
  edge?: EdgeRecord;
}

const ACCEPTABLE_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;
const q = JSON.stringify;

/** The route template a request matched (`/api/v1/orders/:order_id`), or `unmatched`. */
export function routeOf(c: Context): string {
  return matchedRoutes(c).findLast((r) => r.method !== 'ALL')?.path ?? 'unmatched';
}

/**
 * Links a request's Hono context to the edge's record, so its request id reaches handlers and
 * problem documents (`c.get('requestId')`) and its route and user reach the access line and the
 * metrics. Every handler the app registers calls it first (the router's routes, the docs routes,
 * the not-found and error handlers); it is no app-wide middleware, so a route with no guard of its
 * own takes Hono's one-handler path, which runs no middleware chain. Idempotent.
 */
export function linkEdge(c: Context<AppEnv>): void {
  const record = (c.env as EdgeEnv | undefined)?.edge;
  if (!record) {
    // Dispatched around the edge (Hono's fetch called directly): the request still gets an id.
    if (c.get('requestId') === undefined) c.set('requestId', randomUUID());
    return;
  }
  if (record.context === c) return;
  record.context = c;
  if (record.tracing) {
    const span = trace.getActiveSpan()?.spanContext();
    if (span) record.trace = `,"trace_id":"${span.traceId}","span_id":"${span.spanId}"`;
  }
  c.set('requestId', record.id);
}

/** `linkEdge` as the first middleware of a route that has guards (authentication, body limit). */
export const edgeLink: MiddlewareHandler<AppEnv> = (c, next) => {
  linkEdge(c);
  return next();
};

/**
 * Wraps `app.fetch` (and so `app.request()`, which calls it) in the edge. Call it after the
 * tracing middleware, so the access line can carry the request's span; every handler then calls
 * `linkEdge` (above).
 */
export function installEdge(app: OpenAPIHono<AppEnv>, options: EdgeOptions): void {
  const { logger, metrics, timeoutMs, tracing = false } = options;
  const writeLine = createLineWriter(logger, 'request');
  const deadlines = createDeadlines(timeoutMs);

  /** Measures, logs and completes the answer (functions here are made once, not per request). */
  function finish(record: EdgeRecord, response: Response): Response {
    const answer = record.preset ? response : withEdgeHeaders(response, record.id);
    const seconds = (performance.now() - record.started) / 1000;
    const { context: c, request } = record;
    const route = c ? routeOf(c) : 'unmatched';
    const status = answer.status;
    metrics.observe(request.method, route, status, seconds);
    const user = c?.get('user');
    const path = c ? c.req.path : new URL(request.url).pathname;
    writeLine(
      status >= 500 ? 'error' : 'info',
      `"request_id":${q(record.id)}${record.trace},"method":${q(request.method)},"path":${q(path)},"route":${q(route)},"status":${status},"duration_ms":${Math.round(seconds * 10_000) / 10}${user ? `,"user_id":${user.id}` : ''}`,
    );
    return answer;
  }

  const dispatch = app.fetch;
  app.fetch = (request, env, executionCtx) => {
    const edgeEnv: EdgeEnv = (env as EdgeEnv | undefined) ?? {};
    const { incoming, outgoing } = edgeEnv;
    const offered = incoming ? incoming.headers['x-request-id'] : request.headers.get('x-request-id');
    const id = typeof offered === 'string' && ACCEPTABLE_ID.test(offered) ? offered : randomUUID();
    // Served by @hono/node-server: straight onto Node's response, which merges them into the
    // answer's own headers (those win). Through the fetch `Headers` class each would cost more.
    const preset =
      outgoing !== undefined && typeof outgoing.setHeader === 'function' && !outgoing.headersSent;
    if (preset) {
      for (const [name, value] of SECURITY_HEADERS) outgoing.setHeader(name, value);
      outgoing.setHeader('X-Request-ID', id);
    }
    const record: EdgeRecord = {
      id,
      request,
      started: performance.now(),
      preset,
      context: undefined,
      tracing,
      trace: '',
    };
    edgeEnv.edge = record;

    let answer: Response | Promise<Response>;
    try {
      answer = dispatch(request, edgeEnv, executionCtx);
    } catch (error) {
      answer = Promise.reject(error);
    }
    if (answer instanceof Response) return finish(record, answer);
    return deadlines.race(record, answer, finish);
  };
}

/** The edge's headers on an answer that did not go through Node's response (`app.request()`). */
function withEdgeHeaders(response: Response, id: string): Response {
  let answer = response;
  const missing = [...SECURITY_HEADERS, ['X-Request-ID', id] as const].filter(
    ([name]) => !response.headers.has(name),
  );
  for (const [name, value] of missing) {
    try {
      answer.headers.set(name, value);
    } catch {
      // An immutable response (Response.redirect): copy it once, then set.
      answer = new Response(answer.body, answer);
      answer.headers.set(name, value);
    }
  }
  return answer;
}

/** The answer of a request whose deadline passed first. */
function timedOut(id: string): Response {
  const body = problemJson('timeout', 'the request did not complete in time; retry shortly', id);
  return new Response(JSON.stringify(body), {
    status: 503,
    headers: { 'Content-Type': PROBLEM_CONTENT_TYPE, 'Retry-After': '1' },
  });
}

/**
 * Deadlines of in-flight requests, all `timeoutMs` long, so start order is deadline order: one
 * timer sweeps from the oldest and stops at the first that still has time. Whichever comes first,
 * the answer or the deadline, is finished and resolves the request; the other is dropped.
 */
function createDeadlines(timeoutMs: number) {
  type Finish = (record: EdgeRecord, response: Response) => Response;
  interface Flight {
    record: EdgeRecord;
    due: number;
    done: boolean;
    finish: Finish;
    resolve: (response: Response) => void;
    reject: (error: unknown) => void;
  }
  const flights = new Set<Flight>();
  const sweepEveryMs = Math.min(1_000, Math.max(10, Math.floor(timeoutMs / 10)));
  let sweeper: NodeJS.Timeout | undefined;

  function settle(flight: Flight, response: Response): void {
    flights.delete(flight);
    if (flight.done) return;
    flight.done = true;
    flight.resolve(flight.finish(flight.record, response));
  }

  function fail(flight: Flight, error: unknown): void {
    flights.delete(flight);
    if (flight.done) return;
    flight.done = true;
    flight.reject(error);
  }

  function sweep(): void {
    const now = performance.now();
    for (const flight of flights) {
      if (flight.due > now) break;
      settle(flight, timedOut(flight.record.id));
    }
    if (flights.size === 0 && sweeper) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  }

  return {
    race(record: EdgeRecord, answer: Promise<Response>, finish: Finish): Promise<Response> {
      const flight: Flight = {
        record,
        due: record.started + timeoutMs,
        done: false,
        finish,
        resolve: noop,
        reject: noop,
      };
      const settled = new Promise<Response>((resolve, reject) => {
        flight.resolve = resolve;
        flight.reject = reject;
      });
      flights.add(flight);
      if (!sweeper) {
        sweeper = setInterval(sweep, sweepEveryMs);
        sweeper.unref();
      }
      answer.then(
        (response) => settle(flight, response),
        (error: unknown) => fail(flight, error),
      );
      return settled;
    },
  };
}

function noop(): void {}
