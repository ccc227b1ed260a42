/**
 * Coalesced reads that are never stale: reads of the same thing that arrive together share one
 * statement, and a read only ever joins a statement that has not been sent yet. While a statement
 * is in flight, newcomers gather for the next one, which is sent when the first returns. So every
 * answer comes from a statement sent after its read arrived: a write acknowledged before a read
 * began is in that read's answer, on every replica, with nothing to invalidate and nothing that a
 * lost message could leave stale. Under load a hundred concurrent reads cost one statement; at
 * rest a read costs what it did alone.
 *
 * Pure control flow over promises (no I/O of its own): the statements are the caller's.
 */

/** How many statements of one loader (or of one key) may be in flight at once. */
export interface FlightOptions {
  /**
   * 1 makes the biggest batches; 2 lets the next batch leave while the previous one is still
   * answering, so the process is not idle for a round trip when every reader waits. Default 1.
   */
  inFlight?: number;
}

/**
 * Gathers requests and sends them as one flight, at most `inFlight` flights out at a time:
 * requests that arrive while that many are out form the next one, sent when one lands. Requests
 * of the same tick share a flight.
 */
function nextFlight<R, T>(
  send: (requests: R[]) => Promise<T>,
  { inFlight: maxInFlight = 1 }: FlightOptions = {},
): (request: R) => Promise<T> {
  let gathering: { request: R; resolve: (value: T) => void; reject: (error: unknown) => void }[] = [];
  let inFlight = 0;
  let scheduled = false;

  function schedule(): void {
    if (scheduled || inFlight >= maxInFlight || gathering.length === 0) return;
    scheduled = true;
    queueMicrotask(depart);
  }

  function depart(): void {
    scheduled = false;
    const passengers = gathering;
    gathering = [];
    inFlight += 1;
    let flight: Promise<T>;
    try {
      flight = send(passengers.map((passenger) => passenger.request));
    } catch (error) {
      flight = Promise.reject(error);
    }
    const land = (outcome: (passenger: (typeof passengers)[number]) => void) => {
      inFlight -= 1;
      for (const passenger of passengers) outcome(passenger);
      schedule();
    };
    flight.then(
      (value) => land((passenger) => passenger.resolve(value)),
      (error: unknown) => land((passenger) => passenger.reject(error)),
    );
  }

  return (request) =>
    new Promise<T>((resolve, reject) => {
      gathering.push({ request, resolve, reject });
      schedule();
    });
}

/**
 * Single flight per key: `run(key)` resolves with what `fetch(key)` returned in a call that
 * started after this `run`. Keys do not wait for one another.
 */
export function createCoalescer<K, V>(
  fetch: (key: K) => Promise<V>,
  options: FlightOptions = {},
): { run(key: K): Promise<V> } {
  const flights = new Map<K, { join: (key: K) => Promise<V>; riders: number }>();
  return {
    async run(key) {
      let flight = flights.get(key);
      if (!flight) {
        flight = { join: nextFlight<K, V>(() => fetch(key), options), riders: 0 };
        flights.set(key, flight);
      }
      flight.riders += 1;
      try {
        return await flight.join(key);
      } finally {
        flight.riders -= 1;
        if (flight.riders === 0) flights.delete(key);
      }
    },
  };
}

/**
 * Batches reads by key into one statement: `load(keys)` resolves with the values `fetch` found
 * for those keys (absent ones are absent from the map), from a statement sent after the call.
 * While `inFlight` statements are out, every key asked for goes into the next, so batches grow
 * with load and Postgres sees a statement per round trip however many readers wait.
 */
export function createBatchLoader<K, V>(
  fetch: (keys: K[]) => Promise<Map<K, V>>,
  options: FlightOptions = {},
): { load(keys: readonly K[]): Promise<Map<K, V>> } {
  const join = nextFlight<readonly K[], Map<K, V>>(
    (requests) => fetch([...new Set(requests.flat())]),
    options,
  );
  return {
    async load(keys) {
      if (keys.length === 0) return new Map();
      const found = await join(keys);
      const mine = new Map<K, V>();
      for (const key of keys) {
        const value = found.get(key);
        if (value !== undefined) mine.set(key, value);
      }
      return mine;
    },
  };
}
