import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CheckoutStack, checkoutBody, startCheckoutStack } from '../test/support/checkout.js';
import { createTestDatabase, type TestDatabase } from '../test/support/db.js';
import { connectTestRedis, userIdSource } from '../test/support/redis.js';
import { createTemporalTestContext, type TemporalTestContext } from '../test/support/temporal.js';
import { cancelCheckoutSignal, paymentConfirmedSignal } from './checkout.contract.js';

/**
 * Replay safety: histories of representative checkouts, recorded from real runs and committed,
 * must replay against the current workflow code. A change to the saga's command sequence that
 * would break checkouts in flight fails here; such a change goes behind `patched()`.
 * `UPDATE_HISTORIES=1` re-records the committed files from the scenarios below.
 */
const HISTORIES = fileURLToPath(new URL('./histories', import.meta.url));
const update = process.env.UPDATE_HISTORIES === '1';

type History = ReturnType<typeof historyFromJSON>;

let temporalContext: TemporalTestContext;

function committed(): Array<{ name: string; history: History }> {
  return readdirSync(HISTORIES)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({
      name: file.replace(/\.json$/, ''),
      history: historyFromJSON(JSON.parse(readFileSync(join(HISTORIES, file), 'utf8'))),
    }));
}

const replay = (history: History, name: string) =>
  Worker.runReplayHistory({ workflowBundle: temporalContext.bundle }, history, name);

beforeAll(async () => {
  temporalContext = await createTemporalTestContext();
});
afterAll(async () => {
  await temporalContext?.close();
});

describe('committed checkout histories', () => {
  const files = readdirSync(HISTORIES).filter((file) => file.endsWith('.json'));

  it('cover the representative runs', () => {
    expect(files.sort()).toEqual([
      'cancelled.json',
      'declined.json',
      'processing-error.json',
      'success.json',
      'three-d-secure-confirmed.json',
      'three-d-secure-expired.json',
    ]);
  });

  it.each(files.map((file) => file.replace(/\.json$/, '')))(
    '%s replays against the current workflow',
    async (name) => {
      const entry = committed().find((candidate) => candidate.name === name);
      if (!entry) throw new Error(`history ${name} is missing`);
      await replay(entry.history, `replay-${name}`);
    },
  );

  it('fail to replay when the saga schedules its steps in another order', async () => {
    const entry = committed().find((candidate) => candidate.name === 'success');
    if (!entry) throw new Error('history success is missing');
    // As if the workflow now authorized before reserving: swap the first two scheduled activities.
    const changed = historyFromJSON(JSON.parse(historyToJSON(entry.history)));
    const scheduled = (changed.events ?? []).filter((event) => event.activityTaskScheduledEventAttributes);
    const reserve = scheduled.find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'reserveStock',
    );
    const authorize = scheduled.find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'authorizePayment',
    );
    const reserveType = reserve?.activityTaskScheduledEventAttributes?.activityType;
    const authorizeType = authorize?.activityTaskScheduledEventAttributes?.activityType;
    if (!reserveType || !authorizeType) throw new Error('the success history lacks reserve or authorize');
    [reserveType.name, authorizeType.name] = [authorizeType.name, reserveType.name];
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
    if (update) {
      mkdirSync(HISTORIES, { recursive: true });
      for (const [name, history] of recorded) {
        writeFileSync(
          join(HISTORIES, `${name}.json`),
          `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 1)}\n`,
        );
      }
    }
  });

  async function run(
    on: CheckoutStack,
    name: string,
    token: string,
    drive: (id: string) => Promise<void> = async () => {},
  ): Promise<string> {
    const shopper = await on.shopper(nextUser());
    await shopper.add(1, 1);
    const { checkout_id: id } = await checkoutBody(
      await shopper.checkout({ payment_token: token }, { 'Idempotency-Key': `history-${name}` }),
    );
    await drive(id);
    const result = await on.workflow(id).result();
    const history = await on.workflow(id).fetchHistory();
    await replay(history, `fresh-${name}`);
    recorded.set(name, history);
    return result.status;
  }

  it('records a successful checkout', async () => {
    expect(await run(stack, 'success', 'tok_visa')).toBe('COMPLETED');
  });

  it('records a declined payment', async () => {
    expect(await run(stack, 'declined', 'tok_chargeDeclined')).toBe('FAILED');
  });

  it('records a processing error retried until it succeeds', async () => {
    expect(await run(stack, 'processing-error', 'tok_processingError')).toBe('COMPLETED');
  });

  it('records a 3-D Secure payment confirmed by signal', async () => {
    const status = await run(stack, 'three-d-secure-confirmed', 'tok_threeDSecure', async (id) => {
      await stack.workflow(id).signal(paymentConfirmedSignal, {});
    });
    expect(status).toBe('COMPLETED');
  });

  it('records a 3-D Secure payment never confirmed before the reservation expired', async () => {
    expect(await run(expiring, 'three-d-secure-expired', 'tok_threeDSecure')).toBe('FAILED');
  });

  it('records a checkout cancelled while it waited for payment', async () => {
    const status = await run(stack, 'cancelled', 'tok_threeDSecure', async (id) => {
      await stack.workflow(id).signal(cancelCheckoutSignal, { reason: 'recorded for replay' });
    });
    expect(status).toBe('CANCELLED');
  });
});
