import { type ActivityOptions, proxyActivities, workflowInfo } from '@temporalio/workflow';
import { type QueueName, siblingQueue } from '../lib/task-queues.js';

/** Postgres steps: retried until they succeed or refuse (an outage only delays the workflow). */
export const databaseStep: ActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '5 seconds' },
};

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
