import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, bearer } from '../test/support/app.js';
import { type CheckoutStack, checkoutBody, startCheckoutStack } from '../test/support/checkout.js';
import { createTestDatabase, type TestDatabase } from '../test/support/db.js';
import { connectTestRedis, userIdSource, waitFor } from '../test/support/redis.js';
import { createTemporalTestContext, type TemporalTestContext } from '../test/support/temporal.js';
import { cancelCheckoutSignal, paymentConfirmedSignal } from './checkout.contract.js';
import { deliverOrderSignal, orderWorkflowId } from './order.contract.js';

/**
 * Replay safety: histories of representative runs, recorded from real runs and committed, must
 * replay against the current workflow code. A change to a workflow's command sequence that would
 * break runs in flight fails here; such a change goes behind `patched()`. Three generations of
 * checkout histories stay to prove each patch keeps the sagas of before it replayable:
 * `checkout-*` without a suffix were recorded before the order lifecycle (`patched('order-lifecycle')`),
 * `checkout-success-with-order` before the short Postgres steps became local activities
 * (`patched('local-saga-steps')`), and `checkout-*-local` as the saga runs now.
 *
 * `UPDATE_HISTORIES=1` records the histories that are missing; `UPDATE_HISTORIES=all` re-records
 * every scenario below. The older generations are produced by none of them: they stay as recorded.
 */
const HISTORIES = fileURLToPath(new URL('./histories', import.meta.url));
const update = process.env.UPDATE_HISTORIES;

type History = ReturnType<typeof historyFromJSON>;

let temporalContext: TemporalTestContext;

function committed(name: string): History {
  return historyFromJSON(JSON.parse(readFileSync(join(HISTORIES, `${name}.json`), 'utf8')));
}

const replay = (history: History, workflowId: string) =>
  Worker.runReplayHistory({ workflowBundle: temporalContext.bundle }, history, workflowId);

beforeAll(async () => {
  temporalContext = await createTemporalTestContext();
});
afterAll(async () => {
  await temporalContext?.close();
});

describe('committed histories', () => {
  const names = readdirSync(HISTORIES)
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.replace(/\.json$/, ''))
    .sort();

  it('cover the representative runs of both workflows', () => {
    expect(names).toEqual([
      'checkout-cancelled',
      'checkout-cancelled-local',
      'checkout-declined',
      'checkout-declined-local',
      'checkout-processing-error',
      'checkout-processing-error-local',
      'checkout-success',
      'checkout-success-with-order',
      'checkout-success-with-order-local',
      'checkout-three-d-secure-confirmed',
      'checkout-three-d-secure-confirmed-local',
      'checkout-three-d-secure-expired',
      'checkout-three-d-secure-expired-local',
      'order-cancelled',
      'order-shipped-delivered',
    ]);
  });

  it.each(names)('%s replays against the current workflow', async (name) => {
    await replay(committed(name), `replay-${name}`);
  });

  it('fail to replay when the saga schedules its steps in another order', async () => {
    // As if the workflow now authorized before reserving: swap the two scheduled activity types.
    const changed = historyFromJSON(JSON.parse(historyToJSON(committed('checkout-success'))));
    const types = (changed.events ?? []).flatMap((event) => {
      const type = event.activityTaskScheduledEventAttributes?.activityType;
      return type && (type.name === 'reserveStock' || type.name === 'authorizePayment') ? [type] : [];
    });
    const [reserve, authorize] = types;
    if (!reserve || !authorize) throw new Error('the success history lacks reserve or authorize');
    [reserve.name, authorize.name] = [authorize.name, reserve.name];
    await expect(replay(changed, 'replay-reordered')).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});

describe('recording the representative runs', () => {
  let db: TestDatabase;
  let redis: Redis | undefined;
  let stack: CheckoutStack;
  let expiring: CheckoutStack;
  const nextUser = userIdSource();
  const recorded = new Map<string, History>();

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = connectTestRedis();
    stack = await startCheckoutStack({ db, redis, temporal: temporalContext });
    expiring = await startCheckoutStack({ db, redis, temporal: temporalContext, reservationTtlMs: 1_000 });
  });
  afterAll(async () => {
    await Promise.allSettled([stack?.stop(), expiring?.stop()]);
    redis?.disconnect();
    await db?.destroy();
    if (!update) return;
    mkdirSync(HISTORIES, { recursive: true });
    for (const [name, history] of recorded) {
      const file = join(HISTORIES, `${name}.json`);
      if (update !== 'all' && existsSync(file)) continue;
      writeFileSync(file, `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 1)}\n`);
    }
  });

  /** Runs a checkout to its end, replays its fresh history, and keeps it under `name`. */
  async function checkout(
    on: CheckoutStack,
    name: string,
    token: string,
    drive: (id: string) => Promise<void> = async () => {},
    record = true,
  ) {
    const shopper = await on.shopper(nextUser());
    await shopper.add(1, 1);
    const { checkout_id: id } = await checkoutBody(
      await shopper.checkout({ payment_token: token }, { 'Idempotency-Key': `history-${name}` }),
    );
    await drive(id);
    const result = await on.workflow(id).result();
    if (record) await keep(name, on.workflow(id));
    return { ...result, headers: shopper.headers };
  }

  async function keep(name: string, handle: ReturnType<CheckoutStack['workflow']>): Promise<void> {
    const history = await handle.fetchHistory();
    await replay(history, `fresh-${name}`);
    recorded.set(name, history);
  }

  it('records a successful checkout, which starts the order lifecycle', async () => {
    const result = await checkout(stack, 'checkout-success-with-order-local', 'tok_visa');
    expect(result.status).toBe('COMPLETED');
    // Only the payment provider's calls go through the server's queues; the five Postgres steps
    // are local activities, recorded as markers with their summaries.
    const events = recorded.get('checkout-success-with-order-local')?.events ?? [];
    const scheduled = events.flatMap((event) => {
      const name = event.activityTaskScheduledEventAttributes?.activityType?.name;
      return name ? [name] : [];
    });
    expect(scheduled).toEqual(['authorizePayment', 'capturePayment']);
    const localSteps = events.filter(
      (event) => event.markerRecordedEventAttributes?.markerName === 'core_local_activity',
    );
    expect(localSteps).toHaveLength(5);
  });

  it('records a declined payment', async () => {
    expect((await checkout(stack, 'checkout-declined-local', 'tok_chargeDeclined')).status).toBe('FAILED');
  });

  it('records a processing error retried until it succeeds', async () => {
    expect((await checkout(stack, 'checkout-processing-error-local', 'tok_processingError')).status).toBe(
      'COMPLETED',
    );
  });

  it('records a 3-D Secure payment confirmed by signal', async () => {
    const result = await checkout(
      stack,
      'checkout-three-d-secure-confirmed-local',
      'tok_threeDSecure',
      async (id) => {
        await stack.workflow(id).signal(paymentConfirmedSignal, {});
      },
    );
    expect(result.status).toBe('COMPLETED');
  });

  it('records a 3-D Secure payment never confirmed before the reservation expired', async () => {
    expect(
      (await checkout(expiring, 'checkout-three-d-secure-expired-local', 'tok_threeDSecure')).status,
    ).toBe('FAILED');
  });

  it('records a checkout cancelled while it waited for payment', async () => {
    const result = await checkout(stack, 'checkout-cancelled-local', 'tok_threeDSecure', async (id) => {
      await stack.workflow(id).signal(cancelCheckoutSignal, { reason: 'recorded for replay' });
    });
    expect(result.status).toBe('CANCELLED');
  });

  async function orderHandle(orderId: string) {
    const handle = temporalContext.client.workflow.getHandle(orderWorkflowId(orderId));
    await waitFor('the order workflow', async () =>
      handle.describe().then(
        () => true,
        () => false,
      ),
    );
    return handle;
  }

  it('records an order shipped by the API and delivered by signal', async () => {
    const { order_id: orderId } = await checkout(stack, 'order-to-ship', 'tok_visa', undefined, false);
    const handle = await orderHandle(orderId as string);
    const shipped = await stack.app.request(`/api/v1/orders/${orderId}/ship`, {
      method: 'POST',
      headers: { ...bearer(await adminToken(1)), 'Content-Type': 'application/json' },
      body: JSON.stringify({ tracking_number: 'REPLAY-1' }),
    });
    expect(shipped.status).toBe(200);
    await handle.signal(deliverOrderSignal);
    expect((await handle.result()).status).toBe('DELIVERED');
    await keep('order-shipped-delivered', handle);
  });

  it('records an order cancelled by its buyer', async () => {
    const { order_id: orderId, headers } = await checkout(
      stack,
      'order-to-cancel',
      'tok_visa',
      undefined,
      false,
    );
    const handle = await orderHandle(orderId as string);
    const cancelled = await stack.app.request(`/api/v1/orders/${orderId}/cancel`, {
      method: 'POST',
      headers,
    });
    expect(cancelled.status).toBe(200);
    expect((await handle.result()).status).toBe('CANCELLED');
    await keep('order-cancelled', handle);
  });
});
