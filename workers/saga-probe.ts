import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { checkoutWorkflowId } from '../workflows/checkout.contract.js';

/** Asks Temporal whether a checkout's saga is still running; a saga Temporal no longer knows is not. */
export function checkoutSagaProbe(client: Client): (checkoutId: string) => Promise<boolean> {
  return async (checkoutId) => {
    try {
      const description = await client.workflow.getHandle(checkoutWorkflowId(checkoutId)).describe();
      return description.status.name === 'RUNNING';
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return false;
      throw error;
    }
  };
}
