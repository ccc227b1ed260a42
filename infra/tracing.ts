import { type Tracer, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/** The process's tracing: on when an OTLP endpoint (or, in tests, an exporter) is given, off otherwise. */
export interface Tracing {
  enabled: boolean;
  resource: Resource;
  /** What the worker hands workflow spans to (they are exported from workflow sinks). */
  spanProcessor: SpanProcessor | undefined;
  shutdown(): Promise<void>;
}

export const TRACER_NAME = 'commerce';

/**
 * Sets up OpenTelemetry tracing for one process: a tracer provider registered globally (so the
 * Hono middleware, the Temporal interceptors and the Postgres and Redis wrappers all find it) and
 * an OTLP/HTTP exporter to `endpoint` (e.g. `http://jaeger:4318`). Without an endpoint nothing is
 * registered and every span is a no-op.
 */
export function setupTracing(options: {
  serviceName: string;
  endpoint?: string | undefined;
  exporter?: SpanExporter;
}): Tracing {
  const resource = new Resource({ 'service.name': options.serviceName });
  if (!options.endpoint && !options.exporter) {
    return { enabled: false, resource, spanProcessor: undefined, shutdown: async () => {} };
  }
  const spanProcessor = options.exporter
    ? new SimpleSpanProcessor(options.exporter)
    : new BatchSpanProcessor(
        new OTLPTraceExporter({ url: `${options.endpoint?.replace(/\/$/, '')}/v1/traces` }),
      );
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  return { enabled: true, resource, spanProcessor, shutdown: () => provider.shutdown() };
}

/** The tracer the project's own spans (SQL, Redis) come from; a no-op one until tracing is set up. */
export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}
