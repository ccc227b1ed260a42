import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { inject } from 'vitest';
import { bundleWorkflows } from '../../workers/workers.js';

export interface TemporalTestContext {
  client: Client;
  connection: NativeConnection;
  namespace: string;
  /** Bundle built once per test file. */
  bundle: WorkflowBundleWithSourceMap;
  /** A fresh task-queue prefix, so each test has its own queues on the shared dev server. */
  newPrefix(): string;
  close(): Promise<void>;
}

/** Connects to the dev server the global setup started (or TEMPORAL_ADDRESS). */
export async function createTemporalTestContext(): Promise<TemporalTestContext> {
  const address = inject('temporalAddress');
  const namespace = 'default';
  const [clientConnection, connection, bundle] = await Promise.all([
    Connection.connect({ address }),
    NativeConnection.connect({ address }),
    bundleWorkflows(),
  ]);
  return {
    client: new Client({ connection: clientConnection, namespace }),
    connection,
    namespace,
    bundle,
    newPrefix: () => `t${randomBytes(5).toString('hex')}`,
    async close() {
      await Promise.allSettled([clientConnection.close(), connection.close()]);
    },
  };
}

/** Runs the workers while `fn` runs, then shuts them down and waits for them to drain. */
export async function withWorkers<T>(workers: Worker[], fn: () => Promise<T>): Promise<T> {
  const running = workers.map((worker) => worker.run());
  try {
    return await fn();
  } finally {
    for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
    await Promise.allSettled(running);
  }
}
