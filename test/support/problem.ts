import { expect } from 'vitest';

/**
 * Asserts a response is the contract's problem document with this status and code, carrying
 * the request id and nothing internal (no stack, SQL or driver text). Returns the body.
 */
export async function expectProblem(
  response: Response,
  status: number,
  code: string,
): Promise<Record<string, unknown>> {
  const body = (await response.json()) as Record<string, unknown>;
  expect(response.status, JSON.stringify(body)).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  expect(body).toMatchObject({ status, code, type: `urn:commerce:problem:${code}` });
  expect(typeof body.title).toBe('string');
  expect(body.error).toBe(body.detail);
  expect(body.request_id).toBe(response.headers.get('x-request-id'));
  expect(JSON.stringify(body)).not.toMatch(/at .*\.ts|stack|\bselect\b|\bupdate\b|postgres/i);
  return body;
}
