import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../infra/ids.js';
import { createLogger } from '../infra/logger.js';
import { FixedClock } from '../lib/clock.js';
import { taskQueue } from '../lib/task-queues.js';
import { createTestServices } from '../test/support/app.js';
import { createTestDatabase, type TestDatabase } from '../test/support/db.js';
import {
  createTemporalTestContext,
  createTestWorkers,
  type TemporalTestContext,
  withWorkers,
} from '../test/support/temporal.js';
import { ensureMaintenanceSchedules, MAINTENANCE_SCHEDULES, scheduleId } from '../workers/schedules.js';
import { purgeIdleCartsWorkflow, releaseExpiredReservationsWorkflow } from './maintenance.workflow.js';

const DAY = 86_400_000;

let db: TestDatabase;
let temporal: TemporalTestContext;

beforeAll(async () => {
  [db, temporal] = await Promise.all([createTestDatabase(), createTemporalTestContext()]);
});
afterAll(async () => {
  await Promise.allSettled([db?.destroy(), temporal?.close()]);
});

async function startWorkers(prefix: string, clock: FixedClock) {
  const services = createTestServices({ db, clock });
  const workers = await createTestWorkers(temporal, { services, prefix, cartIdleMs: 90 * DAY });
  return { services, workers };
}

describe('maintenance workflows on the real Temporal dev server', () => {
  it('purgeIdleCartsWorkflow deletes carts idle for 90 days from Postgres and keeps the others', async () => {
    const prefix = temporal.newPrefix();
    const clock = new FixedClock(new Date());
    const { services, workers } = await startWorkers(prefix, clock);
    await services.cart.addItem(101, 1, 2);
    await services.cart.addItem(102, 2, 1);
    await db.db.execute(sql`update carts set updated_at = now() - interval '91 days' where user_id = 101`);
    await db.db.execute(sql`update carts set updated_at = now() - interval '89 days' where user_id = 102`);

    const result = await withWorkers(workers, () =>
      temporal.client.workflow.execute(purgeIdleCartsWorkflow, {
        taskQueue: taskQueue(prefix, 'maintenance'),
        workflowId: `purge-${newId()}`,
      }),
    );

    expect(result).toEqual({ purged: 1 });
    const rows = await db.db.execute<{ user_id: string }>(sql`select user_id from carts order by user_id`);
    expect(rows.map((row) => Number(row.user_id))).toEqual([102]);
    expect((await services.cart.get(101)).lines).toEqual([]);
    expect((await services.cart.get(102)).lines).toHaveLength(1);
  });

  it('releaseExpiredReservationsWorkflow returns the stock of reservations past expiry plus grace', async () => {
    const prefix = temporal.newPrefix();
    const clock = new FixedClock('2026-06-01T12:00:00Z');
    const { services, workers } = await startWorkers(prefix, clock);
    const before = await services.inventory.getStock(4);
    const stale = newId();
    const fresh = newId();
    await services.inventory.reserve(stale, [{ productId: 4, quantity: 3 }], 5 * 60_000);
    clock.advance(4 * 60_000);
    await services.inventory.reserve(fresh, [{ productId: 4, quantity: 2 }], 5 * 60_000);
    // stale expired at +5m; with 1m grace it is released from +6m on, while fresh lives until +9m.
    clock.advance(3 * 60_000);

    const result = await withWorkers(workers, () =>
      temporal.client.workflow.execute(releaseExpiredReservationsWorkflow, {
        taskQueue: taskQueue(prefix, 'maintenance'),
        workflowId: `release-${newId()}`,
      }),
    );

    expect(result).toEqual({ released: 1, checkoutIds: [stale], settled: [] });
    const after = await services.inventory.getStock(4);
    expect(after.reserved).toBe(before.reserved + 2);
    expect(after.onHand).toBe(before.onHand);
  });

  it('registers the housekeeping schedules idempotently and a triggered run does the work', async () => {
    const prefix = temporal.newPrefix();
    const logger = createLogger({ level: 'silent' });
    const first = await ensureMaintenanceSchedules(temporal.client, prefix, logger);
    const second = await ensureMaintenanceSchedules(temporal.client, prefix, logger);
    expect(second).toEqual(first);
    expect(first).toEqual(MAINTENANCE_SCHEDULES.map((schedule) => scheduleId(prefix, schedule)));

    try {
      for (const schedule of MAINTENANCE_SCHEDULES) {
        const description = await temporal.client.schedule.getHandle(scheduleId(prefix, schedule)).describe();
        expect(description.action).toMatchObject({
          type: 'startWorkflow',
          workflowType: schedule.workflowType,
          taskQueue: taskQueue(prefix, 'maintenance'),
        });
        expect(description.spec.intervals?.[0]?.every).toBe(schedule.every === '24h' ? 86_400_000 : 60_000);
      }

      const clock = new FixedClock(new Date());
      const { services, workers } = await startWorkers(prefix, clock);
      await services.cart.addItem(201, 3, 1);
      await db.db.execute(sql`update carts set updated_at = now() - interval '100 days' where user_id = 201`);
      const purge = MAINTENANCE_SCHEDULES.find(
        (schedule) => schedule.workflowType === 'purgeIdleCartsWorkflow',
      );
      if (!purge) throw new Error('purge schedule missing');
      const handle = temporal.client.schedule.getHandle(scheduleId(prefix, purge));
      await withWorkers(workers, async () => {
        await handle.trigger();
        const deadline = Date.now() + 30_000;
        for (;;) {
          const started = (await handle.describe()).info.recentActions[0]?.action;
          if (started) {
            await temporal.client.workflow
              .getHandle(started.workflow.workflowId, started.workflow.firstExecutionRunId)
              .result();
            break;
          }
          if (Date.now() > deadline) throw new Error('the triggered schedule did not start a workflow');
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      });
      const rows = await db.db.execute(sql`select 1 from carts where user_id = 201`);
      expect(rows).toHaveLength(0);
    } finally {
      await Promise.allSettled(first.map((id) => temporal.client.schedule.getHandle(id).delete()));
    }
  });
});
