import { Worker } from 'node:worker_threads';
import { Client, Connection } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import type { Logger } from '../infra/logger.js';
import { AppError, type ErrorCode, type FieldError } from '../lib/errors.js';
import { type CheckoutSaga, createTemporalCheckoutSaga } from './checkout-saga.js';
import { createTemporalOrderLifecycle, type OrderLifecycle } from './order-lifecycle.js';
import {
  createTemporalProbe,
  retryShortly,
  type TemporalProbe,
  unavailableError,
} from './temporal-errors.js';

/**
 * The API's Temporal client runs in a worker thread (api/temporal-thread.ts), behind the same
 * ports the routes use in-process. Why: the client keeps each call's deadline and metadata in an
 * `AsyncLocalStorage`, which on Node.js 20 switches V8's promise hooks on for the rest of the
 * process's life, and then every promise of every request costs more, checkout or not: 7-12 us
 * of CPU per catalog or health request (docs/performance.md). A worker thread is an isolate of its
 * own, with hooks of its own. Each call is one message each way; its arguments and results are
 * plain data, and errors cross as their contract code (an `AppError`) or their name, message and
 * code. If the thread dies, the calls it had fail with 503, and the first call a second or more
 * later starts a new one (calls before that fail with 503 at once).
 *
 * With tracing on, the API keeps the client in-process instead: OpenTelemetry's context manager
 * needs the hooks anyway, and the request's trace must reach the client's interceptor.
 */
export interface TemporalThreadOptions {
  address: string;
  namespace: string;
  taskQueuePrefix: string;
}

export interface TemporalThreadCall {
  kind: 'call';
  id: number;
  target: 'saga' | 'lifecycle' | 'probe';
  method: string;
  args: unknown[];
}

export interface WireError {
  name: string;
  message: string;
  code?: string;
  app?: {
    code: ErrorCode;
    errors: FieldError[] | undefined;
    extra: Record<string, unknown> | undefined;
    headers: Record<string, string> | undefined;
  };
}

export type TemporalThreadReply =
  | { kind: 'reply'; id: number; ok: true; value: unknown }
  | { kind: 'reply'; id: number; ok: false; error: WireError }
  | { kind: 'ready' }
  | { kind: 'unreachable' };

export interface TemporalBridge {
  saga: CheckoutSaga;
  lifecycle: OrderLifecycle;
  probe: TemporalProbe;
  /** Closes the client's connections and ends the thread. */
  close(): Promise<void>;
}

function fromWire(error: WireError): Error {
  if (error.app) {
    return new AppError(error.app.code, error.message, {
      errors: error.app.errors,
      extra: error.app.extra,
      headers: error.app.headers,
    });
  }
  return Object.assign(new Error(error.message), {
    name: error.name,
    ...(error.code ? { code: error.code } : {}),
  });
}

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const THREAD_URL = new URL(`./temporal-thread${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url);

/**
 * Run from TypeScript sources (`node --import tsx`, as npm start and the image do), a worker
 * thread does not inherit tsx's module hooks: it registers them before importing the thread.
 */
function spawnThread(url: URL, workerData: TemporalThreadOptions): Worker {
  if (!FROM_SOURCE) return new Worker(url, { workerData });
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const bootstrap = `import(${tsx}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}
const CLOSE_WITHIN_MS = 5_000;
const RESTART_AFTER_MS = 1_000;

export function startTemporalThread(
  options: TemporalThreadOptions & {
    logger: Logger;
    /** The thread's module; tests pass one that misbehaves. */
    threadUrl?: URL;
  },
): TemporalBridge {
  const { logger, threadUrl = THREAD_URL, ...threadOptions } = options;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: unknown) => void }>();
  let nextId = 1;
  let thread: Worker | undefined;
  let closing = false;
  /** A thread that died is not started again for a second, so a broken one cannot be restarted per call. */
  let restartAt = 0;

  function start(): Worker {
    const worker = spawnThread(threadUrl, threadOptions);
    worker.on('message', (reply: TemporalThreadReply) => {
      if (reply.kind === 'unreachable') {
        logger.warn('Temporal is not reachable yet; readiness reports it until it is');
        return;
      }
      if (reply.kind !== 'reply') return;
      const call = pending.get(reply.id);
      if (!call) return;
      pending.delete(reply.id);
      if (reply.ok) call.resolve(reply.value);
      else call.reject(fromWire(reply.error));
    });
    worker.on('error', (error) => {
      if (!closing) logger.error({ err: error }, 'the Temporal client thread failed');
    });
    worker.on('exit', (code) => {
      if (thread === worker) thread = undefined;
      restartAt = performance.now() + RESTART_AFTER_MS;
      if (!closing)
        logger.error({ code }, 'the Temporal client thread exited; a call a second from now starts another');
      const lost = unavailableError();
      for (const [id, call] of pending) {
        pending.delete(id);
        call.reject(lost);
      }
    });
    return worker;
  }

  function call<T>(target: TemporalThreadCall['target'], method: string, args: unknown[]): Promise<T> {
    if (closing) return Promise.reject(retryShortly('the API is shutting down'));
    if (!thread && performance.now() < restartAt) {
      return Promise.reject(unavailableError());
    }
    thread ??= start();
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      thread?.postMessage({ kind: 'call', id, target, method, args } satisfies TemporalThreadCall);
    });
  }

  thread = start();
  return {
    saga: {
      submit: (...args) => call('saga', 'submit', args),
      cancel: (...args) => call('saga', 'cancel', args),
      confirmPayment: (...args) => call('saga', 'confirmPayment', args),
      status: (...args) => call('saga', 'status', args),
    },
    lifecycle: {
      move: (...args) => call('lifecycle', 'move', args),
    },
    probe: {
      check: () => call('probe', 'check', []),
      close: async () => {},
    },
    async close() {
      closing = true;
      const worker = thread;
      if (!worker) return;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage({ kind: 'close' });
      const timer = setTimeout(() => void worker.terminate(), CLOSE_WITHIN_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The same ports with the client in this thread, for a traced API: the client's interceptor carries
 * each request's trace into the workflows it starts, updates and signals.
 */
export async function connectTemporalInProcess(
  options: TemporalThreadOptions & { logger: Logger },
): Promise<TemporalBridge> {
  const connection = await Connection.connect({ address: options.address }).catch((error: unknown) => {
    options.logger.warn({ err: error }, 'Temporal is not reachable yet; readiness reports it until it is');
    return Connection.lazy({ address: options.address });
  });
  const client = new Client({
    connection,
    namespace: options.namespace,
    interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] },
  });
  const ports = temporalPorts(client, options);
  return {
    ...ports,
    async close() {
      await Promise.allSettled([connection.close(), ports.probe.close()]);
    },
  };
}

/** The API's ports over one Temporal client, wherever it runs (this thread or its own). */
export function temporalPorts(
  client: Client,
  options: Pick<TemporalThreadOptions, 'address' | 'taskQueuePrefix'>,
): Omit<TemporalBridge, 'close'> {
  const probe = createTemporalProbe(options.address);
  const ports = { client, taskQueuePrefix: options.taskQueuePrefix, probe };
  return {
    saga: createTemporalCheckoutSaga(ports),
    lifecycle: createTemporalOrderLifecycle(ports),
    probe,
  };
}
