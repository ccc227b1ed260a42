import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { Redis } from 'ioredis';
import type { Logger } from './logger.js';
import { tracer } from './tracing.js';

/**
 * A Redis client tuned for a cache: commands fail fast while disconnected (no offline queue,
 * one retry), so callers fall back to Postgres instead of waiting; the connection itself
 * keeps retrying in the background with capped backoff. Errors are logged once per outage.
 */
export function createRedisClient(
  url: string,
  logger: Logger,
  name = 'commerce',
  options: { traced?: boolean } = {},
): Redis {
  const client = new Redis(url, {
    connectionName: name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 1_000,
    // Commands issued in the same tick (concurrent requests' cart reads) go out in one write.
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 5), 2_000),
  });
  let down = false;
  client.on('error', (error) => {
    if (!down) logger.warn({ err: error }, 'redis unavailable; caching is bypassed until it returns');
    down = true;
  });
  client.on('ready', () => {
    if (down) logger.info('redis connection restored');
    down = false;
  });
  if (options.traced) traceCommands(client);
  return client;
}

/** A span per Redis command (name only: keys and values stay out of traces). */
function traceCommands(client: Redis): void {
  const send = client.sendCommand.bind(client);
  client.sendCommand = (command, stream) => {
    const span = tracer().startSpan(`redis ${command.name}`, {
      kind: SpanKind.CLIENT,
      attributes: { 'db.system': 'redis', 'db.operation': command.name },
    });
    command.promise.then(
      () => span.end(),
      (error: Error) => {
        span.recordException(error);
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      },
    );
    return send(command, stream);
  };
}
