import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ERROR_CODES, type ErrorCode, type FieldError } from '../lib/errors.js';
import type { AppEnv } from './context.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The RFC 9457 problem document of the contract: `error` repeats `detail` for old clients. */
export function problemJson(
  code: ErrorCode,
  detail: string,
  requestId: string,
  options: { errors?: FieldError[] | undefined; extra?: Record<string, unknown> | undefined } = {},
): Record<string, unknown> {
  const { status, title } = ERROR_CODES[code];
  return {
    ...options.extra,
    type: `urn:commerce:problem:${code}`,
    title,
    status,
    detail,
    code,
    error: detail,
    request_id: requestId,
    ...(options.errors && options.errors.length > 0 ? { errors: options.errors } : {}),
  };
}

/** Answers the problem document of `code` with its status. */
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
  const body = problemJson(code, detail, c.get('requestId') ?? '', options);
  return c.body(JSON.stringify(body), ERROR_CODES[code].status as ContentfulStatusCode, {
    'Content-Type': PROBLEM_CONTENT_TYPE,
    ...options.headers,
  });
}
