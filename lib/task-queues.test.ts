import { describe, expect, it } from 'vitest';
import { siblingQueue, taskQueue, taskQueues } from './task-queues.js';

describe('task queues', () => {
  it.each([
    ['', 'carts', 'carts'],
    ['prod', 'carts', 'prod.carts'],
    ['t.run-1', 'inventory', 't.run-1.inventory'],
  ] as const)('prefix %j + %s -> %s', (prefix, name, expected) => {
    expect(taskQueue(prefix, name)).toBe(expected);
  });

  it.each([
    ['maintenance', 'carts', 'carts'],
    ['prod.maintenance', 'inventory', 'prod.inventory'],
    ['t.run-1.checkout', 'payments', 't.run-1.payments'],
  ] as const)('sibling of %s named %s is %s', (current, name, expected) => {
    expect(siblingQueue(current, name)).toBe(expected);
  });

  it('lists every queue with the prefix', () => {
    expect(taskQueues('x')).toEqual({
      checkout: 'x.checkout',
      inventory: 'x.inventory',
      payments: 'x.payments',
      orders: 'x.orders',
      carts: 'x.carts',
      maintenance: 'x.maintenance',
    });
  });
});
