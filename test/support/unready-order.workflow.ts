import type { OrderInput } from '../../workflows/order.contract.js';

/**
 * An `orderWorkflow` whose every workflow task fails, as on a worker that cannot run the
 * lifecycle yet (crashing while it starts it, a deploy being rolled back): for tests of what
 * callers of a workflow that is not ready are answered.
 */
export async function orderWorkflow(_input: OrderInput): Promise<never> {
  throw new Error('this worker cannot run the order lifecycle');
}
