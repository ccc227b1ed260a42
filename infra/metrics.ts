import {
  Counter,
  collectDefaultMetrics,
  Histogram,
  Registry as PromRegistry,
  type Registry,
} from 'prom-client';

/** A process's Prometheus registry; modules register their own metrics on it. */
export function createMetricsRegistry(
  options: { defaultMetrics?: boolean; service?: string } = {},
): Registry {
  const registry = new PromRegistry();
  if (options.service) registry.setDefaultLabels({ service: options.service });
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  return registry;
}

/** The metric of that name on `registry`, created once however many services share the registry. */
function once<M>(registry: Registry, name: string, create: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? create();
}

/**
 * A counter of outcomes on `registry`, created once however many modules share the registry,
 * each of `results` shown from the start at 0 under the label `result` (no label when none).
 */
export function resultCounter(
  registry: Registry,
  name: string,
  help: string,
  results: readonly string[] = [],
): Counter<'result'> {
  return once(registry, name, () => {
    const labelNames = results.length > 0 ? (['result'] as const) : [];
    const created = new Counter<'result'>({ name, help, labelNames, registers: [registry] });
    for (const result of results) created.inc({ result }, 0);
    return created;
  });
}

/** Business events worth a dashboard, counted where they happen (in the API or the worker). */
export interface CommerceMetrics {
  /** A checkout ended: COMPLETED, FAILED or CANCELLED, with its failure code, after `seconds`. */
  checkoutEnded(status: string, code: string | null, seconds: number): void;
  /** A reservation attempt's outcome: `reserved`, `insufficient_stock`, `product_unavailable`, ... */
  reservation(outcome: string): void;
  /** A payment operation's outcome: authorize/capture/void/refund by succeeded, declined, ... */
  payment(operation: string, outcome: string): void;
}

export function commerceMetrics(registry: Registry): CommerceMetrics {
  const checkouts = once(
    registry,
    'checkouts_total',
    () =>
      new Counter({
        name: 'checkouts_total',
        help: 'Checkouts that ended, by final status and failure code',
        labelNames: ['status', 'code'] as const,
        registers: [registry],
      }),
  );
  const duration = once(
    registry,
    'checkout_duration_seconds',
    () =>
      new Histogram({
        name: 'checkout_duration_seconds',
        help: 'Time from the start of a checkout to its end, by final status',
        labelNames: ['status'] as const,
        buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
        registers: [registry],
      }),
  );
  const reservations = once(
    registry,
    'inventory_reservations_total',
    () =>
      new Counter({
        name: 'inventory_reservations_total',
        help: 'Stock reservation attempts, by outcome',
        labelNames: ['outcome'] as const,
        registers: [registry],
      }),
  );
  const payments = once(
    registry,
    'payment_operations_total',
    () =>
      new Counter({
        name: 'payment_operations_total',
        help: 'Payment provider operations (authorize, confirm, capture, void, refund), by outcome',
        labelNames: ['operation', 'outcome'] as const,
        registers: [registry],
      }),
  );
  return {
    checkoutEnded(status, code, seconds) {
      checkouts.inc({ status, code: code ?? 'none' });
      duration.observe({ status }, Math.max(0, seconds));
    },
    reservation: (outcome) => reservations.inc({ outcome }),
    payment: (operation, outcome) => payments.inc({ operation, outcome }),
  };
}
