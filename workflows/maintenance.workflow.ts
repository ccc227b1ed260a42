import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { CartActivities } from '../activities/cart.activities.js';
import type { CheckoutActivities } from '../activities/checkout.activities.js';
import type { InventoryActivities } from '../activities/inventory.activities.js';
import { siblingQueue } from '../lib/task-queues.js';

const housekeeping = {
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 10 },
} as const;

/** Purges carts idle beyond the configured time (90 days by default). Run daily by a schedule. */
export async function purgeIdleCartsWorkflow(): Promise<{ purged: number }> {
  const { purgeIdleCarts } = proxyActivities<CartActivities>({
    ...housekeeping,
    taskQueue: siblingQueue(workflowInfo().taskQueue, 'carts'),
    summary: 'Delete carts idle beyond the retention period',
  });
  return purgeIdleCarts();
}

/**
 * Releases reservations past expiry that no saga released, then settles checkouts whose saga is
 * gone (terminated by an operator): their order, payment and stock are undone and they are
 * recorded FAILED. Run every minute by a schedule.
 */
export async function releaseExpiredReservationsWorkflow(): Promise<{
  released: number;
  checkoutIds: string[];
  settled: string[];
}> {
  const { releaseExpiredReservations } = proxyActivities<InventoryActivities>({
    ...housekeeping,
    startToCloseTimeout: '2 minutes',
    taskQueue: siblingQueue(workflowInfo().taskQueue, 'inventory'),
    summary: 'Release expired reservations',
  });
  const { settleAbandonedCheckouts } = proxyActivities<CheckoutActivities>({
    ...housekeeping,
    startToCloseTimeout: '2 minutes',
    taskQueue: siblingQueue(workflowInfo().taskQueue, 'checkout'),
    summary: 'Settle checkouts whose saga is gone',
  });
  const released = await releaseExpiredReservations();
  const { settled } = await settleAbandonedCheckouts();
  return { ...released, settled };
}
