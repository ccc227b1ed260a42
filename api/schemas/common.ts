import { createHash } from 'node:crypto';
import { z } from '@hono/zod-openapi';
import { ERROR_CODES } from '../../lib/errors.js';

const MAX_ID = Number.MAX_SAFE_INTEGER;

/** Idempotency keys of the contract, in the `Idempotency-Key` header or a body field. */
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,255}$/;
export const IDEMPOTENCY_KEY_RULE = 'an idempotency key must be 1..255 characters of [A-Za-z0-9._:-]';

/** A digest of a validated request body that does not depend on key order: what binds an idempotency key. */
export function requestDigest(body: unknown): string {
  const canonical = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(canonical)
      : value && typeof value === 'object'
        ? Object.fromEntries(
            Object.entries(value as Record<string, unknown>)
              .filter(([, inner]) => inner !== undefined)
              .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
              .map(([name, inner]) => [name, canonical(inner)]),
          )
        : value;
  return createHash('sha256')
    .update(JSON.stringify(canonical(body)))
    .digest('hex');
}

/**
 * A positive id in a path segment, limited to what JSON numbers carry exactly. As in JSON (and
 * so in the document's `type: integer`), an integral number written with a zero fraction (`5.0`)
 * is the same integer; any other fraction, an exponent or a leading zero is refused.
 */
export const pathId = (name: string, example = 1) =>
  z
    .string()
    .regex(/^[1-9][0-9]{0,15}(?:\.0+)?$/, `${name} must be a positive integer`)
    .transform(Number)
    .refine((id) => id <= MAX_ID, `${name} must be at most ${MAX_ID}`)
    .openapi({
      param: { name, in: 'path' },
      type: 'integer',
      format: 'int64',
      minimum: 1,
      maximum: MAX_ID,
      example,
    });

export const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export const pathUuid = (name: string) =>
  z
    .string()
    .regex(UUID, `${name} must be a UUID`)
    .transform((s) => s.toLowerCase())
    .openapi({ param: { name, in: 'path' }, format: 'uuid' });

/** An integer in the query string, written as `pathId` reads one. */
export const queryInt = (name: string, min: number, max: number) =>
  z
    .string()
    .regex(/^[0-9]{1,16}(?:\.0+)?$/, `${name} must be an integer`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `${name} must be between ${min} and ${max}`)
    .openapi({ param: { name, in: 'query' }, type: 'integer', minimum: min, maximum: max });

/** A positive id in a JSON body. Type errors (strings, fractions, unsafe integers) are invalid_request. */
export const bodyId = (name: string) =>
  z
    .number()
    .int()
    .positive(`${name} must be positive`)
    .openapi({ example: 1, format: 'int64', minimum: 1, maximum: MAX_ID });

/** What `String.prototype.trim` removes: ECMAScript WhiteSpace and LineTerminator. */
const TRIMMED = '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';
/** No NUL anywhere (Postgres text cannot hold it). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what this refuses.
const NO_NUL = /^[^\u0000]*$/;
/** No NUL, and at least one character that trimming keeps. */
const NOT_BLANK = new RegExp(`^[^\\u0000]*[^\\u0000${TRIMMED}][^\\u0000]*$`);

/**
 * Free text stored as is, up to `max` characters. The document states the same rules
 * (`maxLength`, a pattern that refuses NUL), so what it allows the server stores.
 */
export const text = (field: string, max: number) =>
  z
    .string()
    .max(max, `${field} must be at most ${max} characters`)
    .regex(NO_NUL, `${field} must not contain NUL characters`);

/**
 * Free text that must not be blank, up to `max` characters as sent; surrounding whitespace is
 * trimmed once the checks (the same ones the document states) have passed.
 */
export const nonBlankText = (field: string, max: number) =>
  z
    .string()
    .max(max, `${field} must be at most ${max} characters`)
    .regex(NOT_BLANK, `${field} must not be empty or contain NUL characters`)
    .trim();

/** Optional free text trimmed after its checks; blank means absent. */
export const trimmedText = (field: string, max: number) => text(field, max).trim();

/** The `Idempotency-Key` request header of routes that take one. */
export const IdempotencyKeyHeader = (description: string) =>
  z
    .string()
    .regex(IDEMPOTENCY_KEY, `Idempotency-Key: ${IDEMPOTENCY_KEY_RULE}`)
    .optional()
    .openapi({ description });

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: 'urn:commerce:problem:not_found' }),
    title: z.string().openapi({ example: 'Not found' }),
    status: z.number().int().openapi({ example: 404 }),
    detail: z.string().openapi({ example: 'product 42 not found' }),
    code: z.enum(Object.keys(ERROR_CODES) as [keyof typeof ERROR_CODES, ...(keyof typeof ERROR_CODES)[]]),
    error: z.string().openapi({ description: 'Repeats `detail`, for clients of the original gateway.' }),
    request_id: z.string(),
    errors: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .openapi({ description: 'Present on validation failures: one entry per offending field.' }),
  })
  .catchall(z.unknown())
  .openapi('Problem', { description: "RFC 9457 problem details with the contract's stable `code`." });

export const Timestamp = z.string().openapi({ format: 'date-time', example: '2026-01-01T12:00:00.000Z' });

/** A shipping address as checkouts and orders show it, or null. */
export const ShippingAddressOut = z
  .object({
    name: z.string(),
    line1: z.string(),
    line2: z.string().nullable(),
    city: z.string(),
    postal_code: z.string(),
    country: z.string(),
  })
  .nullable();
