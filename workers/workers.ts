import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Context } from '@temporalio/activity';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import {
  bundleWorkflowCode,
  type NativeConnection,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { createCartActivities } from '../activities/cart.activities.js';
import { createCheckoutActivities } from '../activities/checkout.activities.js';
import { createInventoryActivities } from '../activities/inventory.activities.js';
import { createOrderActivities } from '../activities/orders.activities.js';
import { createPaymentActivities } from '../activities/payments.activities.js';
import type { Tracing } from '../infra/tracing.js';
import { type QueueName, taskQueues } from '../lib/task-queues.js';
import type { Services } from '../services/index.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface ActivityDeps {
  services: Services;
  cartIdleMs: number;
  reservationTtlMs: number;
  reservationSweepGraceMs: number;
  /** ORDER_SHIP_WINDOW and ORDER_DELIVERY_WINDOW: how long an order's lifecycle waits for each step. */
  orderShipWindowMs: number;
  orderDeliveryWindowMs: number;
  /** Whether the saga of a checkout is still running (asks Temporal); used by housekeeping. */
  isSagaRunning(checkoutId: string): Promise<boolean>;
}

export interface WorkerDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueuePrefix: string;
  /** A pre-built bundle (tests build one per file); built here when absent. */
  workflowBundle?: WorkflowBundleWithSourceMap;
  /** When on, workflows and activities continue the trace of whoever started them. */
  tracing?: Tracing | undefined;
}

const OTEL_WORKFLOW_INTERCEPTORS = createRequire(import.meta.url).resolve(
  '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors',
);

/** Bundles the workflow code once, for every worker that hosts workflows (with tracing interceptors when asked). */
export function bundleWorkflows(options: { tracing?: boolean } = {}): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    ...(options.tracing ? { workflowInterceptorModules: [OTEL_WORKFLOW_INTERCEPTORS] } : {}),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
  });
}

/** Worker options that carry traces through workflows (exported from sinks) and activities. */
function tracingOptions(tracing: Tracing | undefined) {
  if (!tracing?.enabled || !tracing.spanProcessor) return {};
  return {
    interceptors: {
      activity: [
        (ctx: Context) => ({
          inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
          outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
    },
    sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
  };
}

/** The activities each task queue hosts, over the services. */
export function createActivities(deps: ActivityDeps) {
  const { cart, checkouts, inventory, orders, payments } = deps.services;
  return {
    checkout: createCheckoutActivities({
      checkouts,
      cart,
      inventory,
      payments,
      orders,
      isSagaRunning: deps.isSagaRunning,
      // A live saga touches its checkout at least once per reservation lifetime.
      abandonedAfterMs: deps.reservationTtlMs + deps.reservationSweepGraceMs,
    }),
    carts: createCartActivities({ cart, idleMs: deps.cartIdleMs }),
    inventory: createInventoryActivities({
      inventory,
      checkouts,
      reservationTtlMs: deps.reservationTtlMs,
      sweepGraceMs: deps.reservationSweepGraceMs,
    }),
    payments: createPaymentActivities({ payments, checkouts }),
    orders: createOrderActivities({
      orders,
      checkouts,
      shipWindowMs: deps.orderShipWindowMs,
      deliveryWindowMs: deps.orderDeliveryWindowMs,
    }),
  } satisfies Partial<Record<QueueName, object>>;
}

export type QueueActivities = ReturnType<typeof createActivities>;

/**
 * What the checkout queue's worker hosts: its own activities, plus the inventory and order steps
 * the saga runs as local activities (`localSteps` in workflows/activity-options.ts). Compensations,
 * payments and the order lifecycle stay on their services' queues.
 */
export function sagaSteps(activities: QueueActivities) {
  const { reserveStock, commitStock } = activities.inventory;
  const { createOrder } = activities.orders;
  return { ...activities.checkout, reserveStock, commitStock, createOrder };
}

/**
 * One worker per task queue: workflows on `checkout`, `orders` and `maintenance`, each service's
 * activities on its own queue. In development one process hosts them all; in production each
 * can run (and scale) separately.
 */
export async function createWorkers(deps: WorkerDeps, activities: QueueActivities): Promise<Worker[]> {
  const queues = taskQueues(deps.taskQueuePrefix);
  const workflowBundle = deps.workflowBundle ?? (await bundleWorkflows({ tracing: deps.tracing?.enabled }));
  const common = { connection: deps.connection, namespace: deps.namespace, ...tracingOptions(deps.tracing) };
  return Promise.all([
    Worker.create({
      ...common,
      taskQueue: queues.checkout,
      workflowBundle,
      activities: sagaSteps(activities),
    }),
    Worker.create({ ...common, taskQueue: queues.maintenance, workflowBundle }),
    Worker.create({ ...common, taskQueue: queues.carts, activities: activities.carts }),
    Worker.create({ ...common, taskQueue: queues.inventory, activities: activities.inventory }),
    Worker.create({ ...common, taskQueue: queues.payments, activities: activities.payments }),
    Worker.create({ ...common, taskQueue: queues.orders, workflowBundle, activities: activities.orders }),
  ]);
}
