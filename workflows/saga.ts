import { CancellationScope, log } from '@temporalio/workflow';

/**
 * The compensation stack of a saga. Each undo is pushed before the step it undoes runs (so a
 * step that half-happened is undone too), must be idempotent, and is retried by Temporal.
 */
export class Compensations {
  readonly #stack: Array<{ name: string; undo: () => Promise<unknown> }> = [];

  push(name: string, undo: () => Promise<unknown>): void {
    this.#stack.push({ name, undo });
  }

  /**
   * Runs the registered undos newest first, shielded from cancellation so a cancelled saga still
   * cleans up. One that fails for good is logged and the others still run.
   */
  async unwind(): Promise<void> {
    await CancellationScope.nonCancellable(async () => {
      for (let entry = this.#stack.pop(); entry; entry = this.#stack.pop()) {
        try {
          await entry.undo();
        } catch (error) {
          log.error('compensation failed', { compensation: entry.name, error: String(error) });
        }
      }
    });
  }
}
