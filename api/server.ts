import { serve } from '@hono/node-server';
import { sql } from 'drizzle-orm';
import { createDatabase } from '../db/client.js';
import { ConfigError, loadConfig } from '../infra/config.js';
import { resolveSecrets } from '../infra/local-secrets.js';
import { createLogger } from '../infra/logger.js';
import { createMetricsRegistry } from '../infra/metrics.js';
import { createRedisClient } from '../infra/redis.js';
import { supervisorPidOf, watchSupervisor } from '../infra/supervisor-watch.js';
import { setupTracing } from '../infra/tracing.js';
import { systemClock } from '../lib/clock.js';
import { createServices } from '../services/index.js';
import { createApp } from './app.js';
import { createRateLimiter } from './middleware/rate-limit.js';
import { connectTemporalInProcess, startTemporalThread } from './temporal-bridge.js';

/** API entrypoint: reads config, opens connections, serves HTTP, drains on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: 'api', asyncStdout: true });
  const tracing = setupTracing({ serviceName: 'commerce-api', endpoint: config.tracing.otlpEndpoint });
  const secrets = resolveSecrets(config);
  if (!config.database.url)
    throw new ConfigError(['DATABASE_URL: required to run the API on its own (npm start provides one)']);

  const database = createDatabase(config.database.url, {
    max: config.database.poolMax,
    applicationName: 'commerce-api',
    traced: tracing.enabled,
    statementTimeoutMs: config.database.statementTimeoutMs,
    lockTimeoutMs: config.database.lockTimeoutMs,
  });
  const redis = config.redis.url
    ? createRedisClient(config.redis.url, logger, 'commerce-api', { traced: tracing.enabled })
    : undefined;
  if (!redis) logger.warn('REDIS_URL is not set: cart caching is off and rate limits are per process');
  if (config.rateLimit.rps === 0) logger.warn('RATE_LIMIT_RPS=0: rate limiting is off');
  // The Temporal client in a thread of its own keeps promise hooks off the request path
  // (api/temporal-bridge.ts); with tracing on they are on anyway, and the client stays here.
  const temporalOptions = {
    address: config.temporal.address ?? 'localhost:7233',
    namespace: config.temporal.namespace,
    taskQueuePrefix: config.temporal.taskQueuePrefix,
    logger,
  };
  const temporal = tracing.enabled
    ? await connectTemporalInProcess(temporalOptions)
    : startTemporalThread(temporalOptions);

  const metrics = createMetricsRegistry({ defaultMetrics: true, service: 'api' });
  const app = createApp({
    logger,
    requestTimeoutMs: config.http.requestTimeoutMs,
    tracing: tracing.enabled,
    corsOrigins: config.http.corsOrigins,
    rateLimiter: createRateLimiter({ rps: config.rateLimit.rps, burst: config.rateLimit.burst, redis }),
    auth: {
      secret: secrets.jwtSecret,
      maxAgeMs: config.auth.maxAgeMs,
      issuer: config.auth.issuer,
      audience: config.auth.audience,
    },
    metrics,
    readiness: {
      postgres: async () => {
        await database.db.execute(sql`select 1`);
        return 'ok';
      },
      redis: async () => {
        if (!redis) return 'disabled';
        await redis.ping();
        return 'ok';
      },
      temporal: async () => {
        await temporal.probe.check();
        return 'ok';
      },
    },
    services: createServices({
      db: database.db,
      redis,
      logger,
      metrics,
      clock: systemClock,
      cart: config.cart,
      payments: { failureRate: config.payments.failureRate },
    }),
    checkout: {
      saga: temporal.saga,
      waitMs: config.checkout.waitMs,
      webhookSecret: secrets.webhookSecret,
    },
    orderLifecycle: temporal.lifecycle,
  });

  const server = serve({ fetch: app.fetch, hostname: config.http.host, port: config.http.port }, (info) => {
    logger.info({ port: info.port }, `API listening on http://localhost:${info.port}`);
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining HTTP connections');
    const forced = setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, 15_000);
    forced.unref();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.allSettled([database.close(), temporal.close(), redis?.quit()]);
    await tracing.shutdown();
    logger.info('API stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  // Under `npm start`: a supervisor killed hard cannot stop us, so drain as if it had.
  watchSupervisor({
    supervisorPid: supervisorPidOf(process.argv),
    onGone: () => void shutdown('supervisor gone'),
  });
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error(error);
  process.exit(1);
});
