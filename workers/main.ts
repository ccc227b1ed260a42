import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { createDatabase } from '../db/client.js';
import { ConfigError, loadConfig } from '../infra/config.js';
import { createLogger } from '../infra/logger.js';
import { createMetricsRegistry } from '../infra/metrics.js';
import { createRedisClient } from '../infra/redis.js';
import { supervisorPidOf, watchSupervisor } from '../infra/supervisor-watch.js';
import { setupTracing } from '../infra/tracing.js';
import { systemClock } from '../lib/clock.js';
import { createServices } from '../services/index.js';
import { freeLoopbackPort, serveWorkerMetrics } from './metrics-server.js';
import { checkoutSagaProbe } from './saga-probe.js';
import { ensureMaintenanceSchedules } from './schedules.js';
import { ensureSearchAttributes } from './search-attributes.js';
import { temporalLogger } from './temporal-logger.js';
import { createActivities, createWorkers } from './workers.js';

/**
 * Worker entrypoint: hosts every workflow and activity task queue in one process, registers
 * search attributes and housekeeping schedules, and drains in-flight tasks on SIGTERM/SIGINT.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: 'worker', asyncStdout: true });
  const tracing = setupTracing({ serviceName: 'commerce-worker', endpoint: config.tracing.otlpEndpoint });
  if (!config.database.url)
    throw new ConfigError(['DATABASE_URL: required to run the worker on its own (npm start provides one)']);
  const address = config.temporal.address ?? 'localhost:7233';
  const namespace = config.temporal.namespace;

  const sdkMetricsAddress =
    config.http.workerMetricsPort === 0 ? undefined : `127.0.0.1:${await freeLoopbackPort()}`;
  Runtime.install({
    logger: temporalLogger(logger.child({ component: 'temporal' })),
    ...(sdkMetricsAddress
      ? {
          telemetryOptions: {
            metrics: { prometheus: { bindAddress: sdkMetricsAddress, countersTotalSuffix: true } },
          },
        }
      : {}),
  });

  const database = createDatabase(config.database.url, {
    max: config.database.poolMax,
    applicationName: 'commerce-worker',
    traced: tracing.enabled,
    statementTimeoutMs: config.database.statementTimeoutMs,
    lockTimeoutMs: config.database.lockTimeoutMs,
  });
  const redis = config.redis.url
    ? createRedisClient(config.redis.url, logger, 'commerce-worker', { traced: tracing.enabled })
    : undefined;
  const connection = await NativeConnection.connect({ address });
  const clientConnection = await Connection.connect({ address });
  const client = new Client({ connection: clientConnection, namespace });

  const added = await ensureSearchAttributes(clientConnection, namespace);
  if (added.length > 0) logger.info({ added }, 'registered search attributes');

  const metrics = createMetricsRegistry({ defaultMetrics: true, service: 'worker' });
  const metricsServer = serveWorkerMetrics({
    registry: metrics,
    sdkMetricsAddress,
    host: config.http.host,
    port: config.http.workerMetricsPort,
    logger,
  });
  const services = createServices({
    db: database.db,
    redis,
    logger,
    metrics,
    clock: systemClock,
    // The worker writes carts (checkout clean-up, purges) but serves no cart views: nothing to keep.
    cart: { ...config.cart, memoryCacheSize: 0 },
    payments: { failureRate: config.payments.failureRate },
  });
  const workers = await createWorkers(
    { connection, namespace, taskQueuePrefix: config.temporal.taskQueuePrefix, tracing },
    createActivities({
      services,
      cartIdleMs: config.cart.idleTtlMs,
      reservationTtlMs: config.checkout.reservationTtlMs,
      reservationSweepGraceMs: config.checkout.reservationSweepGraceMs,
      orderShipWindowMs: config.orders.shipWindowMs,
      orderDeliveryWindowMs: config.orders.deliveryWindowMs,
      isSagaRunning: checkoutSagaProbe(client),
    }),
  );
  await ensureMaintenanceSchedules(client, config.temporal.taskQueuePrefix, logger);
  logger.info({ address, namespace, queues: workers.map((w) => w.options.taskQueue) }, 'worker running');

  // The Runtime shuts workers down on SIGINT/SIGTERM; run() resolves once in-flight tasks finish.
  // Under `npm start`, a supervisor killed hard cannot send it: take the same path by ourselves.
  watchSupervisor({
    supervisorPid: supervisorPidOf(process.argv),
    onGone: () => {
      logger.warn('the npm start supervisor is gone: shutting down');
      process.kill(process.pid, 'SIGTERM');
    },
  });
  try {
    await Promise.all(workers.map((worker) => worker.run()));
  } finally {
    metricsServer?.close();
    await Promise.allSettled([
      connection.close(),
      clientConnection.close(),
      database.close(),
      redis?.quit(),
      tracing.shutdown(),
    ]);
    logger.info('worker stopped');
  }
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error(error);
  process.exit(1);
});
