import { Counter, Histogram, type Registry } from 'prom-client';

export interface HttpMetrics {
  observe(method: string, route: string, status: number, seconds: number): void;
}

export function createHttpMetrics(registry: Registry): HttpMetrics {
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method and route template',
    labelNames: ['method', 'route'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // The labelled series of each (method, route, status), looked up by one string key instead of
  // prom-client hashing a label object twice per request.
  const series = new Map<string, { count: () => void; time: (seconds: number) => void }>();
  return {
    observe(method, route, status, seconds) {
      const key = `${method} ${route} ${status}`;
      let entry = series.get(key);
      if (!entry) {
        const counter = requests.labels(method, route, String(status));
        const histogram = duration.labels(method, route);
        entry = { count: () => counter.inc(), time: (value) => histogram.observe(value) };
        series.set(key, entry);
      }
      entry.count();
      entry.time(seconds);
    },
  };
}
