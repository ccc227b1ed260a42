import {
  allHandlersFinished,
  condition,
  defineUpdate,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { createNoopActivities } from './noop.activities.js';

/**
 * The baseline a checkout is measured against: the same shape on the same Temporal server (an
 * update-with-start that waits for the end, seven activities in sequence), with activities that
 * do nothing. What a checkout costs beyond it is the platform's own work.
 */
export const NOOP_ACTIVITY_COUNT = 7;

export const awaitEndUpdate = defineUpdate<string>('awaitEnd');

const { noop } = proxyActivities<ReturnType<typeof createNoopActivities>>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '5 seconds' },
});

export async function noopCheckoutWorkflow(): Promise<string> {
  let done = false;
  setHandler(awaitEndUpdate, async () => {
    await condition(() => done);
    return 'done';
  });
  for (let step = 0; step < NOOP_ACTIVITY_COUNT; step++) await noop(step);
  done = true;
  await condition(allHandlersFinished);
  return 'done';
}
