import { parentPort, workerData } from 'node:worker_threads';
import { Client, Connection } from '@temporalio/client';
import { isAppError } from '../lib/errors.js';
import {
  type TemporalThreadCall,
  type TemporalThreadOptions,
  type TemporalThreadReply,
  temporalPorts,
  type WireError,
} from './temporal-bridge.js';

/**
 * The API's Temporal client, in a worker thread of its own (api/temporal-bridge.ts says why).
 * Serves the checkout saga, the order lifecycle and the reachability probe, unchanged, to the
 * main thread: one message per call, one reply per call.
 */
const options = workerData as TemporalThreadOptions;
const port = parentPort;
if (!port) throw new Error('api/temporal-thread.ts runs as a worker thread of the API');

// Lazy, so calls are served at once: one made while Temporal is away fails fast with 503 (the
// probe) instead of waiting here for a connection.
const connection = Connection.lazy({ address: options.address });
connection
  .ensureConnected()
  .catch(() => port.postMessage({ kind: 'unreachable' } satisfies TemporalThreadReply));
const client = new Client({ connection, namespace: options.namespace });
const { saga, lifecycle, probe } = temporalPorts(client, options);
const targets: Record<
  TemporalThreadCall['target'],
  Record<string, (...args: never[]) => Promise<unknown>>
> = {
  saga: { ...saga },
  lifecycle: { ...lifecycle },
  probe: { check: () => probe.check() },
};

function toWire(error: unknown): WireError {
  if (isAppError(error)) {
    return {
      name: error.name,
      message: error.message,
      app: { code: error.code, errors: error.errors, extra: error.extra, headers: error.headers },
    };
  }
  const { name, message, code } = error as { name?: unknown; message?: unknown; code?: unknown };
  return {
    name: typeof name === 'string' ? name : 'Error',
    message: typeof message === 'string' ? message : String(error),
    ...(typeof code === 'string' ? { code } : {}),
  };
}

port.on('message', (message: TemporalThreadCall | { kind: 'close' }) => {
  if (message.kind === 'close') {
    void Promise.allSettled([connection.close(), probe.close()]).then(() => port.close());
    return;
  }
  const method = targets[message.target][message.method];
  const reply = (answer: TemporalThreadReply) => port.postMessage(answer);
  if (!method) {
    reply({ kind: 'reply', id: message.id, ok: false, error: toWire(new Error(`no ${message.method}`)) });
    return;
  }
  method(...(message.args as never[])).then(
    (value) => reply({ kind: 'reply', id: message.id, ok: true, value }),
    (error: unknown) => reply({ kind: 'reply', id: message.id, ok: false, error: toWire(error) }),
  );
});
port.postMessage({ kind: 'ready' } satisfies TemporalThreadReply);
