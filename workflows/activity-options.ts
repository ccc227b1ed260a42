import {
  type ActivityOptions,
  type LocalActivityOptions,
  proxyActivities,
  proxyLocalActivities,
  workflowInfo,
} from '@temporalio/workflow';
import { type QueueName, siblingQueue } from '../lib/task-queues.js';

/** Postgres steps: retried until they succeed or refuse (an outage only delays the workflow). */
export const databaseStep = {
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '5 seconds' },
} satisfies ActivityOptions & LocalActivityOptions;

/** Calls to the payment provider while the customer waits: bounded, then the payment counts as refused. */
export const providerCall: ActivityOptions = {
  startToCloseTimeout: '15 seconds',
  scheduleToCloseTimeout: '1 minute',
  retry: { initialInterval: '250 milliseconds', backoffCoefficient: 2, maximumInterval: '5 seconds' },
};

/** After an order exists, money must move: captures retry as long as it takes. */
export const settlement: ActivityOptions = {
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '250 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
};

/** Undo steps (release, void, refund, restock) never give up. */
export const compensation: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
};

/** Activities of a service's task queue in the same deployment (prefix) as the calling workflow. */
export function activitiesOn<T>(queue: QueueName, options: ActivityOptions) {
  return proxyActivities<T>({ ...options, taskQueue: siblingQueue(workflowInfo().taskQueue, queue) });
}

/**
 * The saga's short Postgres steps as local activities: the worker running the checkout runs them
 * inside its workflow task, with the same timeouts and retries as `databaseStep`, instead of
 * scheduling each through the Temporal server to a service's queue and back (each such round
 * trip costs the server a workflow task and an activity task). The checkout queue's worker hosts
 * them (`workers/workers.ts`).
 */
export function localSteps<T>() {
  return proxyLocalActivities<T>(databaseStep);
}

/**
 * The saga's Postgres steps of one service: local when the run took `patched('local-saga-steps')`,
 * else scheduled on the service's queue as the runs before that patch did.
 */
export function databaseSteps<T>(queue: QueueName, local: boolean) {
  return local ? localSteps<T>() : activitiesOn<T>(queue, databaseStep);
}
