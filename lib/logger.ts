import { trace } from '@opentelemetry/api';
import { type LevelWithSilent, type Logger, pino } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level: LevelWithSilent;
  name?: string;
}

/** Fields that must never reach a log line, wherever they appear in a logged object. */
const SECRET_FIELDS = [
  'authorization',
  'password',
  'token',
  'secret',
  'jwtSecret',
  'webhookSecret',
  'paymentToken',
  'payment_token',
  'paymentMethod',
  'signature',
  'x-signature',
];

/**
 * One JSON logger per process; children carry the component name. Each line carries the trace
 * and span of the work it belongs to when tracing is on, so logs of a checkout can be found from
 * its trace and back. Secret-looking fields are redacted one and two levels deep.
 */
export function createLogger({ level, name }: LoggerOptions): Logger {
  return pino({
    level,
    base: name ? { service: name } : {},
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin() {
      const context = trace.getActiveSpan()?.spanContext();
      return context ? { trace_id: context.traceId, span_id: context.spanId } : {};
    },
    redact: {
      paths: [
        'req.headers.authorization',
        ...SECRET_FIELDS.flatMap((field) => [`"${field}"`, `*["${field}"]`]),
      ],
      censor: '[redacted]',
    },
  });
}
