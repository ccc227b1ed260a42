import { fileURLToPath } from 'node:url';
import {
  bundleWorkflowCode,
  type NativeConnection,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { createCartActivities } from '../activities/cart.activities.js';
import { createInventoryActivities } from '../activities/inventory.activities.js';
import { taskQueues } from '../lib/task-queues.js';
import type { Services } from '../services/index.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface WorkerDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueuePrefix: string;
  services: Services;
  cartIdleMs: number;
  reservationSweepGraceMs: number;
  /** A pre-built bundle (tests build one per file); built here when absent. */
  workflowBundle?: WorkflowBundleWithSourceMap;
}

/** Bundles the workflow code once, for every worker that hosts workflows. */
export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
  });
}

/**
 * One worker per task queue: workflows on `maintenance` (and later `checkout`), each service's
 * activities on its own queue. In development one process hosts them all; in production each
 * can run (and scale) separately.
 */
export async function createWorkers(deps: WorkerDeps): Promise<Worker[]> {
  const queues = taskQueues(deps.taskQueuePrefix);
  const workflowBundle = deps.workflowBundle ?? (await bundleWorkflows());
  const common = { connection: deps.connection, namespace: deps.namespace };
  return Promise.all([
    Worker.create({ ...common, taskQueue: queues.maintenance, workflowBundle }),
    Worker.create({
      ...common,
      taskQueue: queues.carts,
      activities: createCartActivities({ cart: deps.services.cart, idleMs: deps.cartIdleMs }),
    }),
    Worker.create({
      ...common,
      taskQueue: queues.inventory,
      activities: createInventoryActivities({
        inventory: deps.services.inventory,
        sweepGraceMs: deps.reservationSweepGraceMs,
      }),
    }),
  ]);
}
