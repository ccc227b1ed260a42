/** A write of one key by its only writer: when it was issued and acknowledged (0: not yet), on one clock. */
export interface Write {
  value: number;
  issuedAt: number;
  ackedAt: number;
}

/**
 * What a read that began at `startedAt` and ended at `endedAt` may show of a key whose writes are
 * `writes`, in order: the last write acknowledged before the read began (0 when none was), or any
 * later write issued before the read ended. Never anything older.
 */
export function allowedValues(writes: readonly Write[], startedAt: number, endedAt: number): Set<number> {
  let last = -1;
  writes.forEach((write, index) => {
    if (write.ackedAt > 0 && write.ackedAt < startedAt) last = index;
  });
  const allowed = new Set([last < 0 ? 0 : (writes[last]?.value ?? 0)]);
  for (const write of writes.slice(last + 1)) if (write.issuedAt < endedAt) allowed.add(write.value);
  return allowed;
}
