import { randomUUID } from 'node:crypto';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import autocannon from 'autocannon';
import { closedLoop, type Figures, since } from './figures.js';
import { awaitEndUpdate, type noopCheckoutWorkflow } from './noop.workflow.js';

/**
 * The load generator, always in its own process so it never shares an event loop with what it
 * measures. One scenario per run; prints one JSON line of figures:
 *   http <url> <seconds> <connections> [headersJson]   autocannon
 *   checkout <baseUrl> <seconds> <concurrency> <tokensJson>
 *                                   each virtual shopper: add to cart, check out (timed), repeat
 *   noop <temporalAddress> <taskQueue> <seconds> <concurrency>
 *                                   the baseline: update-with-start of the no-op workflow, to its end
 */

const [mode, ...args] = process.argv.slice(2);

async function main(): Promise<Figures> {
  if (mode === 'http') {
    const [url = '', seconds = '5', connections = '32', headers = '{}'] = args;
    const result = await autocannon({
      url,
      duration: Number(seconds),
      connections: Number(connections),
      headers: JSON.parse(headers) as Record<string, string>,
    });
    // autocannon's own average is of whole-second samples; the total over the time it ran is exact.
    return {
      requests: result.requests.total,
      seconds: result.duration,
      rps: result.requests.total / result.duration,
      p50: result.latency.p50,
      p99: result.latency.p99,
      errors: result.errors + result.non2xx + result.timeouts,
    };
  }
  if (mode === 'checkout') {
    const [baseUrl = '', seconds = '10', concurrency = '8', tokens = '[]'] = args;
    const bearer = (JSON.parse(tokens) as string[]).map((token) => `Bearer ${token}`);
    return closedLoop(Number(seconds), Number(concurrency), async (slot) => {
      const headers = { Authorization: bearer[slot] ?? '', 'Content-Type': 'application/json' };
      const added = await fetch(`${baseUrl}/api/v1/cart/items`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ product_id: 1 + (slot % 5), quantity: 1 }),
      });
      await added.arrayBuffer();
      if (added.status !== 201) return false;
      // Only the checkout is timed: from the request to the 201 that says the order exists.
      const t0 = performance.now();
      const answer = await fetch(`${baseUrl}/api/v1/checkout`, {
        method: 'POST',
        headers: { ...headers, 'Idempotency-Key': randomUUID() },
        body: '{}',
      });
      await answer.arrayBuffer();
      return answer.status === 201 ? since(t0) : false;
    });
  }
  if (mode === 'noop') {
    const [address = '', taskQueue = '', seconds = '10', concurrency = '8'] = args;
    const connection = await Connection.connect({ address });
    const client = new Client({ connection });
    try {
      return await closedLoop(Number(seconds), Number(concurrency), async () => {
        const t0 = performance.now();
        const result = await client.workflow.executeUpdateWithStart(awaitEndUpdate, {
          startWorkflowOperation: new WithStartWorkflowOperation<typeof noopCheckoutWorkflow>(
            'noopCheckoutWorkflow',
            {
              workflowId: `noop-${randomUUID()}`,
              taskQueue,
              workflowIdConflictPolicy: 'USE_EXISTING',
            },
          ),
        });
        return result === 'done' ? since(t0) : false;
      });
    } finally {
      await connection.close();
    }
  }
  throw new Error(`unknown mode ${mode}`);
}

console.log(JSON.stringify(await main()));
