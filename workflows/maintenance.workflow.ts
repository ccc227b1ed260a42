import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { CartActivities } from '../activities/cart.activities.js';
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

/** Releases reservations whose checkout saga is gone. Run every minute by a schedule. */
export async function releaseExpiredReservationsWorkflow(): Promise<{
  released: number;
  checkoutIds: string[];
}> {
  const { releaseExpiredReservations } = proxyActivities<InventoryActivities>({
    ...housekeeping,
    startToCloseTimeout: '2 minutes',
    taskQueue: siblingQueue(workflowInfo().taskQueue, 'inventory'),
    summary: 'Release expired reservations',
  });
  return releaseExpiredReservations();
}
