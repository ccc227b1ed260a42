/** Activities that return at once: only Temporal's own cost remains. */
export function createNoopActivities() {
  return {
    async noop(step: number): Promise<number> {
      return step;
    },
  };
}
