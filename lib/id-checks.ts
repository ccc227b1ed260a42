import { validate } from 'uuid';
import { AppError } from './errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID in its canonical text form. */
export function isUuid(value: string): boolean {
  return UUID.test(value) && validate(value);
}

/** An entity id of the database: a positive integer that a JavaScript number holds exactly. */
export function isPositiveId(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0;
}

/** Refuses anything but a positive safe integer as a product id, `invalid_product_id` as at the edge. */
export function assertProductId(productId: number): void {
  if (!isPositiveId(productId))
    throw new AppError('invalid_product_id', 'product_id must be a positive integer');
}

/** Refuses anything but a positive safe integer as a user id (`invalid_argument`: users come from tokens). */
export function assertUserId(userId: number): void {
  if (!isPositiveId(userId)) throw new AppError('invalid_argument', 'user id must be a positive integer');
}

/** A UUID id (a checkout's, a payment's) in the one case it is stored in; `invalid_argument` otherwise. */
export function uuidKey(value: string, name: string): string {
  if (typeof value !== 'string' || !isUuid(value))
    throw new AppError('invalid_argument', `${name} must be a UUID`);
  return value.toLowerCase();
}
