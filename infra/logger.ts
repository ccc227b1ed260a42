import { trace } from '@opentelemetry/api';
import {
  type DestinationStream,
  type LevelWithSilent,
  type Logger,
  type LoggerOptions as PinoOptions,
  pino,
} from 'pino';

export type { Logger };

export interface LoggerOptions {
  level: LevelWithSilent;
  name?: string;
  /**
   * Write stdout asynchronously: lines logged while a write is in flight go out together in the
   * next one instead of a write(2) each (the API's access log under load). Pino flushes what is
   * pending when the process exits; a SIGKILL loses at most the lines of the last few
   * milliseconds. For the long-running processes; tests keep synchronous writes.
   */
  asyncStdout?: boolean;
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

let stampedMs = -1;
let stamp = '';
/** pino's isoTime, formatted once per millisecond: under load many lines share one. */
export function isoTimestamp(): string {
  const now = Date.now();
  if (now !== stampedMs) {
    stampedMs = now;
    stamp = `,"time":"${new Date(now).toISOString()}"`;
  }
  return stamp;
}

const SECRET_KEYS = new Set(SECRET_FIELDS.map((field) => field.toLowerCase()));
const CENSOR = '[redacted]';
/** How deep redaction looks: `{ req: { headers: { authorization } } }` is depth 2. */
const REDACT_DEPTH = 2;

const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (value === null || typeof value !== 'object') return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
};

/**
 * The object with every secret-looking field (any case) censored, at the top and in plain objects
 * up to REDACT_DEPTH below; copied only where something is censored, so the usual line costs a
 * walk over its keys. (pino's path-based redaction re-parsed its paths on every line: 18 us of
 * the 24 us a request's access log cost; docs/performance.md.)
 */
export function redactSecrets(object: Record<string, unknown>, depth = 0): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key in object) {
    const value = object[key];
    const redacted = SECRET_KEYS.has(key.toLowerCase())
      ? CENSOR
      : depth < REDACT_DEPTH && isPlainObject(value)
        ? redactSecrets(value, depth + 1)
        : value;
    if (redacted !== value) {
      copy ??= { ...object };
      copy[key] = redacted;
    }
  }
  return copy ?? object;
}

/**
 * One JSON logger per process; children carry the component name. Each line carries the trace
 * and span of the work it belongs to when tracing is on, so logs of a checkout can be found from
 * its trace and back. Secret-looking fields of every line are redacted (children's bindings are
 * the code's own: component names and request ids).
 */
export function createLogger(
  { level, name, asyncStdout = false }: LoggerOptions,
  destination?: DestinationStream,
): Logger {
  const options: PinoOptions = {
    level,
    base: name ? { service: name } : {},
    timestamp: isoTimestamp,
    formatters: {
      level: (label) => ({ level: label }),
      log: (object) => redactSecrets(object),
    },
    mixin() {
      const context = trace.getActiveSpan()?.spanContext();
      return context ? { trace_id: context.traceId, span_id: context.spanId } : {};
    },
  };
  if (destination) return pino(options, destination);
  return asyncStdout ? pino(options, pino.destination({ dest: 1, sync: false })) : pino(options);
}

/**
 * A writer of one kind of line that is logged very often (the API's access line), rendered by
 * hand into `logger`'s own destination: the same JSON, member order and stream as
 * `logger[level]({ ...fields }, msg)` would write, at a fraction of pino's generic cost
 * (docs/performance.md). `fields` is already-rendered JSON members (`"a":1,"b":"x"`) whose values
 * the caller escaped; nothing is redacted and no mixin runs, so only fields that can hold no
 * secret belong there, and the caller adds the trace ids the mixin would.
 */
export function createLineWriter(
  logger: Logger,
  msg: string,
): (level: 'info' | 'error', fields: string) => void {
  const bindings = JSON.stringify(logger.bindings()).slice(1, -1);
  const tail = `,"msg":${JSON.stringify(msg)}}\n`;
  const stream = (logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym];
  return (level, fields) => {
    if (!logger.isLevelEnabled(level) || !stream) return;
    stream.write(
      `{"level":"${level}"${isoTimestamp()}${bindings ? `,${bindings}` : ''}${fields ? `,${fields}` : ''}${tail}`,
    );
  };
}
