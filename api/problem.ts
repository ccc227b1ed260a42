import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ERROR_CODES, type ErrorCode, type FieldError } from '../lib/errors.js';
import type { AppEnv } from './context.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  error: string;
  request_id: string;
  errors?: FieldError[];
  [extra: string]: unknown;
}

export function problemType(code: ErrorCode): string {
  return `urn:commerce:problem:${code}`;
}

/** Builds the RFC 9457 problem document of the contract: `error` repeats `detail` for old clients. */
export function problemBody(
  code: ErrorCode,
  detail: string,
  requestId: string,
  options: { errors?: FieldError[] | undefined; extra?: Record<string, unknown> | undefined } = {},
): ProblemBody {
  const { status, title } = ERROR_CODES[code];
  return {
    ...options.extra,
    type: problemType(code),
    title,
    status,
    detail,
    code,
    error: detail,
    request_id: requestId,
    ...(options.errors && options.errors.length > 0 ? { errors: options.errors } : {}),
  };
}

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
  const body = problemBody(code, detail, c.get('requestId') ?? '', options);
  return c.body(JSON.stringify(body), body.status as ContentfulStatusCode, {
    'Content-Type': PROBLEM_CONTENT_TYPE,
    ...options.headers,
  });
}
