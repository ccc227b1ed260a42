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

/**
 * Gathers requests and sends them as one flight, one flight at a time: requests that arrive while
 * a flight is out form the next one, sent when it lands. Requests of the same tick share a flight.
 */
function nextFlight<R, T>(send: (requests: R[]) => Promise<T>): (request: R) => Promise<T> {
  let gathering: { request: R; resolve: (value: T) => void; reject: (error: unknown) => void }[] = [];
  let busy = false;

  function depart(): void {
    const passengers = gathering;
    gathering = [];
    let flight: Promise<T>;
    try {
      flight = send(passengers.map((passenger) => passenger.request));
    } catch (error) {
      flight = Promise.reject(error);
    }
    const land = (outcome: (passenger: (typeof passengers)[number]) => void) => {
      for (const passenger of passengers) outcome(passenger);
      if (gathering.length > 0) depart();
      else busy = false;
    };
    flight.then(
      (value) => land((passenger) => passenger.resolve(value)),
      (error: unknown) => land((passenger) => passenger.reject(error)),
    );
  }

  return (request) =>
    new Promise<T>((resolve, reject) => {
      gathering.push({ request, resolve, reject });
      if (!busy) {
        busy = true;
        queueMicrotask(depart);
      }
    });
}

/**
 * Single flight per key: `run(key)` resolves with what `fetch(key)` returned in a call that
 * started after this `run`. Keys do not wait for one another.
 */
export function createCoalescer<K, V>(fetch: (key: K) => Promise<V>): { run(key: K): Promise<V> } {
  const flights = new Map<K, { join: (key: K) => Promise<V>; riders: number }>();
  return {
    async run(key) {
      let flight = flights.get(key);
      if (!flight) {
        flight = { join: nextFlight<K, V>(() => fetch(key)), riders: 0 };
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
 * for those keys (absent ones are absent from the map), from a statement sent after the call. One
 * statement is in flight at a time and every key asked for meanwhile goes into the next, so
 * batches grow with load and Postgres sees one statement per round trip however many wait.
 */
export function createBatchLoader<K, V>(
  fetch: (keys: K[]) => Promise<Map<K, V>>,
): { load(keys: readonly K[]): Promise<Map<K, V>> } {
  const join = nextFlight<readonly K[], Map<K, V>>((requests) => fetch([...new Set(requests.flat())]));
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
