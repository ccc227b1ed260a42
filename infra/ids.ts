import { v7 as uuidv7 } from 'uuid';

/** A new entity id: UUIDv7, time-ordered so inserts stay index-friendly (random, so not for workflows). */
export function newId(): string {
  return uuidv7();
}
