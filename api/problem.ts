import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ERROR_CODES, type ErrorCode, type FieldError } from '../lib/errors.js';
import type { AppEnv } from './context.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Answers the RFC 9457 problem document of the contract: `error` repeats `detail` for old clients. */
export function problemResponse(
  c: Context<AppEnv>,
  code: ErrorCode,
  detail: string,
  options: {
    errors?: FieldError[] | undefined;
    extra?: Record<string, unknown> | undefined;
    headers?: Record<string, string>;
  } = {},
): Response {
  const { status, title } = ERROR_CODES[code];
  const body = {
    ...options.extra,
    type: `urn:commerce:problem:${code}`,
    title,
    status,
    detail,
    code,
    error: detail,
    request_id: c.get('requestId') ?? '',
    ...(options.errors && options.errors.length > 0 ? { errors: options.errors } : {}),
  };
  return c.body(JSON.stringify(body), status as ContentfulStatusCode, {
    'Content-Type': PROBLEM_CONTENT_TYPE,
    ...options.headers,
  });
}
