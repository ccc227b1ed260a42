import { type LevelWithSilent, type Logger, pino } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level: LevelWithSilent;
  name?: string;
}

/** One JSON logger per process; children carry the component name. */
export function createLogger({ level, name }: LoggerOptions): Logger {
  return pino({
    level,
    base: name ? { service: name } : {},
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: ['req.headers.authorization', '*.password', '*.token'], censor: '[redacted]' },
  });
}
