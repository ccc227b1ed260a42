import { createRoute, type OpenAPIHono, type z } from '@hono/zod-openapi';
import type { Context, Handler, MiddlewareHandler } from 'hono';
import { AppError, ERROR_CODES, type ErrorCode, type FieldError } from '../lib/errors.js';
import type { AppEnv, AuthUser } from './context.js';
import { edgeLink, linkEdge } from './edge.js';
import { authenticate, type TokenVerifier } from './middleware/auth.js';
import { type RateLimiter, rateLimit } from './middleware/rate-limit.js';
import { PROBLEM_CONTENT_TYPE } from './problem.js';
import { ProblemSchema } from './schemas/common.js';

type Schema = z.ZodType;
type Access = 'public' | 'user' | 'admin';
type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  headers?: Record<string, { description: string; schema: { type: 'string' | 'integer' } }>;
}

export interface RouteSpec<
  P extends Schema | undefined,
  Q extends Schema | undefined,
  B extends Schema | undefined,
  H extends z.ZodObject | undefined = undefined,
> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI path template, e.g. `/api/v1/products/{id}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  access: Access;
  params?: P;
  query?: Q;
  body?: B;
  /** A body is required unless this is false (an absent body then validates as `{}`). */
  bodyRequired?: boolean;
  /** Request headers the route reads, validated (after the body) and documented like the rest. */
  headers?: H;
  responses: Record<number, ResponseSpec>;
  /** Business errors this route can answer with, documented as problem responses. */
  errors?: ErrorCode[];
  /** Error code per top-level input field; fields not listed fail with `invalid_argument`. */
  fieldCodes?: Partial<Record<string, ErrorCode>>;
  /** Runs before input is validated, e.g. a webhook's signature check over the raw body. */
  guard?: MiddlewareHandler<AppEnv>;
  /**
   * Probes (health, readiness) answer however often they are asked and read no dependency through
   * the request path; every other route is rate limited and can answer 503 (`service_unavailable`,
   * `timeout`) while Postgres or Temporal is away or slow, or the request deadline passes.
   */
  probe?: true;
}

export interface RouteInput<P, Q, B, H = undefined> {
  params: P;
  query: Q;
  body: B;
  headers: H;
  user: AuthUser | undefined;
}

export type RouteHandler<P, Q, B, H = undefined> = (
  c: Context<AppEnv>,
  input: RouteInput<P, Q, B, H>,
) => Response | Promise<Response>;

export interface Router {
  route<
    P extends Schema | undefined = undefined,
    Q extends Schema | undefined = undefined,
    B extends Schema | undefined = undefined,
    H extends z.ZodObject | undefined = undefined,
  >(spec: RouteSpec<P, Q, B, H>, handler: RouteHandler<Out<P>, Out<Q>, Out<B>, Out<H>>): void;
}

/**
 * Declares routes once for both runtime and documentation: the spec is registered in the
 * OpenAPI document, and the same zod schemas validate params, query and body. Bodies are
 * parsed here rather than by a content-type-gated validator so that malformed, empty and
 * non-object bodies all fail the same way (`invalid_request`), whatever the Content-Type,
 * as the original gateway's clients expect.
 */
export function createRouter(
  app: OpenAPIHono<AppEnv>,
  options: {
    verifier: TokenVerifier;
    limiter?: RateLimiter | undefined;
    /** The request body's size limit, first guard of every route but GETs (which carry none). */
    bodyLimit: MiddlewareHandler<AppEnv>;
  },
): Router {
  const { verifier, limiter } = options;
  return {
    route(spec, handler) {
      app.openAPIRegistry.registerPath(documentRoute(spec));
      const limited = limiter !== undefined && !spec.probe;
      const guards: MiddlewareHandler<AppEnv>[] = [];
      if (spec.method !== 'get') guards.push(options.bodyLimit);
      if (spec.access !== 'public') guards.push(authenticate(verifier, { admin: spec.access === 'admin' }));
      // After authentication, so a user's budget is theirs wherever they connect from.
      if (limited) guards.push(rateLimit(limiter));
      if (spec.guard) guards.push(spec.guard);
      const honoPath = spec.path.replace(/\{(\w+)\}/g, ':$1');
      const paramsOf = (c: Context<AppEnv>) =>
        spec.params ? validate(spec.params, c.req.param(), 'params', spec.fieldCodes) : undefined;
      const queryOf = (c: Context<AppEnv>) =>
        spec.query ? validate(spec.query, c.req.query(), 'query', spec.fieldCodes) : undefined;
      const headersOf = (c: Context<AppEnv>) =>
        spec.headers
          ? validate(spec.headers, readHeaders(c, spec.headers), 'headers', spec.fieldCodes)
          : undefined;
      // Synchronous unless there is a body to read: a route with no guards is then Hono's one
      // handler for its path, called without a middleware chain or a promise of the router's.
      // Either way the input is checked in the same order: params, query, body, headers.
      // No named function is made per request: tsx names each one as it is made, which costs a
      // `defineProperty` per request (about 1 us, 2% of `/health`'s busy time).
      const bodySchema = spec.body;
      const answer = (c: Context<AppEnv>, params: unknown, query: unknown, body: unknown) =>
        handler(c, { params, query, body, headers: headersOf(c), user: c.get('user') } as never);
      const run: Handler<AppEnv> = (c) => {
        linkEdge(c);
        const params = paramsOf(c);
        const query = queryOf(c);
        if (!bodySchema) return answer(c, params, query, undefined);
        return readJsonBody(c, spec.bodyRequired ?? true).then((raw) =>
          answer(c, params, query, validate(bodySchema, raw, 'body', spec.fieldCodes)),
        );
      };
      // Guards answer and throw too: the edge is linked before they run.
      const chain = guards.length > 0 ? [edgeLink, ...guards, run] : [run];
      app.on([spec.method.toUpperCase()], [honoPath], ...chain);
    },
  };
}

/** The declared headers that the request carries, under the names the schema spells. */
function readHeaders(c: Context<AppEnv>, schema: z.ZodObject): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of Object.keys(schema.shape)) {
    const value = c.req.header(name);
    if (value !== undefined) headers[name] = value;
  }
  return headers;
}

async function readJsonBody(c: Context<AppEnv>, required: boolean): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') {
    if (required) throw new AppError('invalid_request', 'request body is required');
    return {};
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new AppError('invalid_request', 'request body is not valid JSON', { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AppError('invalid_request', 'request body must be a JSON object');
  }
  return value;
}

function validate<S extends z.ZodType>(
  schema: S,
  value: unknown,
  part: 'params' | 'query' | 'body' | 'headers',
  fieldCodes: Partial<Record<string, ErrorCode>> = {},
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors: FieldError[] = result.error.issues.map((issue) => ({
    field: issue.path.map(String).join('.') || part,
    message: issue.message,
  }));
  const codes = result.error.issues.map((issue) => issueCode(issue, value, part, fieldCodes));
  // A value of the wrong JSON type is a malformed request, whatever else is wrong.
  const code = codes.includes('invalid_request') ? 'invalid_request' : (codes[0] ?? 'invalid_argument');
  const index = codes.indexOf(code);
  throw new AppError(code, errors[index]?.message ?? 'invalid input', { errors });
}

function issueCode(
  issue: z.core.$ZodIssue,
  input: unknown,
  part: 'params' | 'query' | 'body' | 'headers',
  fieldCodes: Partial<Record<string, ErrorCode>>,
): ErrorCode {
  const field = issue.path[0];
  const fieldCode = (typeof field === 'string' ? fieldCodes[field] : undefined) ?? 'invalid_argument';
  if (part !== 'body') return fieldCode;
  const value = valueAt(input, issue.path);
  if (value === undefined || value === null) return fieldCode;
  if (issue.code === 'invalid_type') return 'invalid_request';
  if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value))
    return 'invalid_request';
  return fieldCode;
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let current = input;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function coversEveryField(
  spec: RouteSpec<Schema | undefined, Schema | undefined, Schema | undefined, z.ZodObject | undefined>,
): boolean {
  const fields = [spec.params, spec.query, spec.body, spec.headers].flatMap((schema) => {
    if (!schema) return [];
    const shape = (schema as { shape?: Record<string, unknown> }).shape;
    // A schema without a plain shape may fail on anything: assume an uncoded field.
    return shape ? Object.keys(shape) : [''];
  });
  return fields.every((field) => spec.fieldCodes?.[field] !== undefined);
}

function documentRoute(
  spec: RouteSpec<Schema | undefined, Schema | undefined, Schema | undefined, z.ZodObject | undefined>,
) {
  const codes = new Set<ErrorCode>(spec.errors ?? []);
  if (!spec.probe) {
    // Documented whatever this process's configuration: 429 is part of the contract.
    codes.add('rate_limited');
    codes.add('service_unavailable');
    codes.add('timeout');
  }
  if (spec.params || spec.query || spec.body || spec.headers) {
    for (const code of Object.values(spec.fieldCodes ?? {})) if (code) codes.add(code);
    // Fields without their own code fail with invalid_argument.
    if (!coversEveryField(spec)) codes.add('invalid_argument');
  }
  if (spec.body) codes.add('invalid_request');
  if (spec.access !== 'public') codes.add('unauthenticated');
  if (spec.access === 'admin') codes.add('forbidden');
  if (spec.method !== 'get' && spec.body) codes.add('payload_too_large');
  codes.add('internal_error');

  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const { status } = ERROR_CODES[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }

  const responses: Record<string, object> = {};
  for (const [status, response] of Object.entries(spec.responses)) {
    responses[status] = {
      description: response.description,
      ...(response.headers ? { headers: response.headers } : {}),
      ...(response.schema ? { content: { 'application/json': { schema: response.schema } } } : {}),
    };
  }
  for (const [status, statusCodes] of byStatus) {
    responses[String(status)] = {
      description: `Problem: ${statusCodes.map((code) => `\`${code}\``).join(', ')}`,
      content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } },
    };
  }

  return createRoute({
    method: spec.method,
    path: spec.path,
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    tags: spec.tags,
    ...(spec.access === 'public' ? {} : { security: [{ bearerAuth: [] }] }),
    request: {
      ...(spec.params ? { params: spec.params as z.ZodObject } : {}),
      ...(spec.query ? { query: spec.query as z.ZodObject } : {}),
      ...(spec.headers ? { headers: spec.headers } : {}),
      ...(spec.body
        ? {
            body: {
              required: spec.bodyRequired ?? true,
              content: { 'application/json': { schema: spec.body } },
            },
          }
        : {}),
    },
    responses: responses as never,
  });
}
