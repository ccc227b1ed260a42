/**
 * Task queues, one per service so deployments can scale or isolate each kind of work.
 * A deployment-wide prefix (TEMPORAL_TASK_QUEUE_PREFIX) namespaces them: `<prefix>.<name>`.
 * Pure: workflows use it to address their sibling activity queues.
 */
export const QUEUE_NAMES = ['checkout', 'inventory', 'payments', 'orders', 'carts', 'maintenance'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

export function taskQueue(prefix: string, name: QueueName): string {
  return prefix ? `${prefix}.${name}` : name;
}

/** The queue named `name` in the same deployment as `current` (a queue name built by taskQueue). */
export function siblingQueue(current: string, name: QueueName): string {
  const dot = current.lastIndexOf('.');
  return taskQueue(dot < 0 ? '' : current.slice(0, dot), name);
}

export function taskQueues(prefix: string): Record<QueueName, string> {
  return Object.fromEntries(QUEUE_NAMES.map((name) => [name, taskQueue(prefix, name)])) as Record<
    QueueName,
    string
  >;
}
