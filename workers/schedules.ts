import {
  type Client,
  ScheduleAlreadyRunning,
  type ScheduleOptions,
  ScheduleOverlapPolicy,
} from '@temporalio/client';
import type { Logger } from '../infra/logger.js';
import { taskQueue } from '../lib/task-queues.js';

export interface MaintenanceSchedule {
  id: string;
  workflowType: 'purgeIdleCartsWorkflow' | 'releaseExpiredReservationsWorkflow';
  every: string;
  summary: string;
}

export const MAINTENANCE_SCHEDULES: readonly MaintenanceSchedule[] = [
  {
    id: 'purge-idle-carts',
    workflowType: 'purgeIdleCartsWorkflow',
    every: '24h',
    summary: 'Purge carts idle beyond the retention period',
  },
  {
    id: 'release-expired-reservations',
    workflowType: 'releaseExpiredReservationsWorkflow',
    every: '1m',
    summary: 'Release reservations whose checkout saga is gone',
  },
];

export function scheduleId(prefix: string, schedule: MaintenanceSchedule): string {
  return prefix ? `${prefix}.${schedule.id}` : schedule.id;
}

function scheduleOptions(prefix: string, schedule: MaintenanceSchedule): ScheduleOptions {
  const id = scheduleId(prefix, schedule);
  return {
    scheduleId: id,
    spec: { intervals: [{ every: schedule.every }] },
    // A slow run is never stacked on itself; a missed tick during an outage runs once on recovery.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
    action: {
      type: 'startWorkflow',
      workflowType: schedule.workflowType,
      workflowId: id,
      taskQueue: taskQueue(prefix, 'maintenance'),
      args: [],
      staticSummary: schedule.summary,
    },
  };
}

/**
 * Registers the housekeeping schedules, idempotently: a schedule that already exists is
 * updated to the current definition, so every worker start converges on the same state.
 */
export async function ensureMaintenanceSchedules(
  client: Client,
  prefix: string,
  logger: Logger,
): Promise<string[]> {
  const ids: string[] = [];
  for (const schedule of MAINTENANCE_SCHEDULES) {
    const options = scheduleOptions(prefix, schedule);
    try {
      await client.schedule.create(options);
      logger.info({ schedule: options.scheduleId, every: schedule.every }, 'schedule created');
    } catch (error) {
      if (!(error instanceof ScheduleAlreadyRunning)) throw error;
      await client.schedule.getHandle(options.scheduleId).update((previous) => ({
        ...previous,
        spec: options.spec,
        policies: { ...previous.policies, ...options.policies },
        action: options.action,
      }));
      logger.debug({ schedule: options.scheduleId }, 'schedule already registered; definition refreshed');
    }
    ids.push(options.scheduleId);
  }
  return ids;
}
