import { v7 as uuidv7, validate } from 'uuid';

/** A new entity id: UUIDv7, time-ordered so inserts stay index-friendly. */
export function newId(): string {
  return uuidv7();
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value) && validate(value);
}
