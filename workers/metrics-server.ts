import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../infra/logger.js';

/** A loopback port free a moment ago, for the Temporal SDK's own Prometheus exporter. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createTcpServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * The worker's `/metrics`: its own registry (checkouts, reservations, payments, cart cache) and
 * the Temporal SDK's worker metrics, which the Runtime exports on a private loopback port, in one
 * scrape. Metrics are not worth dying for: a port already taken is logged and the worker runs on.
 */
export function serveWorkerMetrics(options: {
  registry: Registry;
  /** Where the Runtime's Prometheus exporter answers, e.g. `127.0.0.1:40123`. */
  sdkMetricsAddress: string | undefined;
  host: string;
  port: number;
  logger: Logger;
}): Server | undefined {
  if (options.port === 0) return undefined;
  const server = createServer(async (request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    const own = await options.registry.metrics();
    const sdk = options.sdkMetricsAddress
      ? await fetch(`http://${options.sdkMetricsAddress}/metrics`, { signal: AbortSignal.timeout(2_000) })
          .then((answer) => answer.text())
          .catch(() => '')
      : '';
    response.writeHead(200, { 'Content-Type': options.registry.contentType }).end(`${own}\n${sdk}`);
  });
  server.once('error', (error) =>
    options.logger.error(
      { err: error, port: options.port },
      'worker metrics endpoint could not listen; running without it',
    ),
  );
  server.listen(options.port, options.host, () =>
    options.logger.info(
      { port: options.port },
      `worker metrics on http://${options.host}:${options.port}/metrics`,
    ),
  );
  return server;
}
