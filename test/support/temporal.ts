import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  type Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { inject } from 'vitest';
import type { Tracing } from '../../infra/tracing.js';
import type { Services } from '../../services/index.js';
import { checkoutSagaProbe } from '../../workers/saga-probe.js';
import {
  type ActivityDeps,
  bundleWorkflows,
  createActivities,
  createWorkers,
  type QueueActivities,
} from '../../workers/workers.js';

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
export async function createTemporalTestContext(
  options: { tracing?: boolean } = {},
): Promise<TemporalTestContext> {
  const address = inject('temporalAddress');
  // Worker state changes are noise in test output; warnings and errors still show.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const namespace = 'default';
  const [clientConnection, connection, bundle] = await Promise.all([
    Connection.connect({ address }),
    NativeConnection.connect({ address }),
    bundleWorkflows({ tracing: options.tracing }),
  ]);
  return {
    client: new Client({
      connection: clientConnection,
      namespace,
      ...(options.tracing
        ? { interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } }
        : {}),
    }),
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

export interface TestWorkerOptions extends Partial<Omit<ActivityDeps, 'services'>> {
  /** Carries traces through the workers (the context must have been created with `tracing`). */
  tracing?: Tracing;
  services: Services;
  /** The task-queue prefix of this test (temporal.newPrefix()). */
  prefix: string;
  /** Replaces activities, e.g. to make one step fail and watch the compensations run. */
  activities?: (real: QueueActivities) => QueueActivities;
}

/** The real workers over real services, on this test's own task queues. */
export function createTestWorkers(
  temporal: TemporalTestContext,
  options: TestWorkerOptions,
): Promise<Worker[]> {
  const real = createActivities({
    services: options.services,
    cartIdleMs: options.cartIdleMs ?? 90 * 86_400_000,
    reservationTtlMs: options.reservationTtlMs ?? 5 * 60_000,
    reservationSweepGraceMs: options.reservationSweepGraceMs ?? 60_000,
    orderShipWindowMs: options.orderShipWindowMs ?? 30 * 86_400_000,
    orderDeliveryWindowMs: options.orderDeliveryWindowMs ?? 60 * 86_400_000,
    isSagaRunning: options.isSagaRunning ?? checkoutSagaProbe(temporal.client),
  });
  return createWorkers(
    {
      connection: temporal.connection,
      namespace: temporal.namespace,
      taskQueuePrefix: options.prefix,
      workflowBundle: temporal.bundle,
      tracing: options.tracing,
    },
    options.activities ? options.activities(real) : real,
  );
}

/** Runs the official `temporal` CLI against the test server, as an operator would from a shell. */
export async function temporalCli(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    execFile(
      inject('temporalCli'),
      [...args, '--address', inject('temporalAddress'), '--namespace', 'default'],
      { timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error) reject(Object.assign(error, { stdout, stderr }));
        else resolve({ stdout, stderr });
      },
    );
  });
}

/**
 * Deletes the housekeeping schedules a test's worker registered under its task-queue prefix, with
 * `client` or, when none is given, a connection to the suite's Temporal made for the purpose.
 */
export async function deleteTestSchedules(prefix: string, client?: Client): Promise<void> {
  const connection = client
    ? undefined
    : await Connection.connect({ address: inject('temporalAddress') }).catch(() => undefined);
  const owner = client ?? (connection ? new Client({ connection }) : undefined);
  if (!owner) return;
  try {
    for await (const schedule of owner.schedule.list()) {
      if (schedule.scheduleId.startsWith(`${prefix}.`))
        await owner.schedule
          .getHandle(schedule.scheduleId)
          .delete()
          .catch(() => undefined);
    }
  } finally {
    await connection?.close();
  }
}
