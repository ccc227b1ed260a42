import { connect, createServer, type Socket } from 'node:net';

export interface LatencyProxy {
  /** `url` with its host and port replaced by the proxy's. */
  url: string;
  close(): Promise<void>;
}

/** Backend messages that carry a statement's result (DataRow, CommandComplete, EmptyQueryResponse). */
const RESULT_MESSAGES = new Set(['D', 'C', 'I']);

/**
 * A TCP proxy on 127.0.0.1 in front of Postgres that delivers each statement's result `delayMs`
 * late, everything else (connecting, parsing, describing, binding) at once and in order. So a
 * statement executes, with its snapshot, the moment it is sent, but its rows are still on the way
 * for `delayMs`: the window in which a read could be handed an answer older than itself.
 */
export async function startLatencyProxy(url: string, delayMs: number): Promise<LatencyProxy> {
  const target = new URL(url);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    let pending = Buffer.alloc(0);
    let started = false; // the startup exchange has no message types worth delaying
    let answering = false; // from a result message to the ReadyForQuery that closes it
    // One queue and one timer per connection, so messages leave in the order they came. (A timer
    // per message could reorder them: Node measures a timer from the loop's cached clock, so of
    // two messages due at the same moment, the one scheduled a millisecond later fired first.)
    const queue: { bytes: Buffer; at: number }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const pump = () => {
      timer = undefined;
      while (queue.length > 0 && (queue[0]?.at ?? 0) <= Date.now()) {
        const next = queue.shift();
        if (next && !client.destroyed) client.write(next.bytes);
      }
      const head = queue[0];
      if (head) timer = setTimeout(pump, Math.max(1, head.at - Date.now()));
    };
    const deliver = (bytes: Buffer, delay: number) => {
      queue.push({ bytes, at: Math.max(Date.now() + delay, queue.at(-1)?.at ?? 0) });
      if (!timer) pump();
    };
    upstream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 5) {
        const length = pending.readInt32BE(1) + 1;
        if (pending.length < length) break;
        const message = pending.subarray(0, length);
        pending = pending.subarray(length);
        const type = String.fromCharCode(message[0] as number);
        if (started && RESULT_MESSAGES.has(type)) answering = true;
        deliver(Buffer.from(message), answering ? delayMs : 0);
        if (type === 'Z') {
          started = true;
          answering = false;
        }
      }
    });
    upstream.on('end', () => deliver(Buffer.alloc(0), 0));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(address.port);
  return {
    url: proxied.toString(),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
