/**
 * Waits for `promise` at most `ms`: its value, or `undefined` once `ms` has passed. A rejection
 * before then rejects; a later one is swallowed (the caller has moved on). The timer is cleared
 * as soon as the race is decided and never keeps the process alive.
 */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  promise.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ms, undefined);
    timer.unref();
  });
  try {
    return await Promise.race([promise, expiry]);
  } finally {
    clearTimeout(timer);
  }
}
