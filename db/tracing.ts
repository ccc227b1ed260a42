import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type postgres from 'postgres';
import { tracer } from '../infra/tracing.js';

/** `SELECT`, `INSERT`, ... : a span name that groups well without leaking values. */
function operationOf(text: string): string {
  return /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? 'QUERY';
}

/**
 * A pending postgres.js query, traced: the span starts when the query is awaited (postgres.js runs
 * it lazily, after modifiers like `.values()`) and ends when it settles. Parameters are never recorded.
 */
function tracedQuery<T extends object>(query: T, text: string, database: string): T {
  return new Proxy(query, {
    get(target, property, receiver) {
      if (property === 'then') {
        return (onFulfilled?: (value: unknown) => unknown, onRejected?: (reason: unknown) => unknown) => {
          const span = tracer().startSpan(`${operationOf(text)} ${database}`, {
            kind: SpanKind.CLIENT,
            attributes: {
              'db.system': 'postgresql',
              'db.name': database,
              'db.statement': text.slice(0, 2000),
            },
          });
          const settled = (target as unknown as PromiseLike<unknown>).then(
            (value) => {
              span.end();
              return value;
            },
            (error: unknown) => {
              span.recordException(error as Error);
              span.setStatus({ code: SpanStatusCode.ERROR });
              span.end();
              throw error;
            },
          );
          return settled.then(onFulfilled, onRejected);
        };
      }
      const value = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      // Modifiers return the query itself: keep returning the traced one.
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        return result === target ? receiver : result;
      };
    },
  });
}

/**
 * The pool with a span around every statement drizzle sends (it goes through `unsafe`, also inside
 * transactions and savepoints). postgres.js has no OpenTelemetry instrumentation of its own.
 */
export function traceSql(sql: postgres.Sql, database: string): postgres.Sql {
  return new Proxy(sql, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (property === 'unsafe') {
        return (text: string, ...rest: unknown[]) =>
          tracedQuery((value as (...a: unknown[]) => object).call(target, text, ...rest), text, database);
      }
      if (property === 'begin' || property === 'savepoint') {
        return (...args: unknown[]) => {
          const body = args.at(-1) as (tx: postgres.Sql) => unknown;
          const options = args.slice(0, -1);
          return (value as (...a: unknown[]) => unknown).call(target, ...options, (tx: postgres.Sql) =>
            body(traceSql(tx, database)),
          );
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as postgres.Sql;
}
