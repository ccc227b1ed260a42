import { afterEach, describe, expect, it, vi } from 'vitest';
import { supervisorPidOf, watchSupervisor } from './supervisor-watch.js';

describe('supervisorPidOf', () => {
  it.each([
    [['node', 'api/server.ts', '--supervisor-pid=4242'], 4242],
    [['node', 'api/server.ts'], undefined],
    [['node', 'api/server.ts', '--supervisor-pid='], undefined],
    [['node', 'api/server.ts', '--supervisor-pid=abc'], undefined],
    [['node', 'api/server.ts', '--supervisor-pid=1'], undefined],
    [['node', 'api/server.ts', '--supervisor-pid=-5'], undefined],
  ])('%j -> %s', (argv, pid) => {
    expect(supervisorPidOf(argv)).toBe(pid);
  });
});

describe('watchSupervisor', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('calls onGone once when the parent changes, and not before', async () => {
    vi.useFakeTimers();
    let parent = 4242;
    const onGone = vi.fn();
    watchSupervisor({ supervisorPid: 4242, onGone, intervalMs: 100, parentPid: () => parent });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(onGone).not.toHaveBeenCalled();
    parent = 1;
    await vi.advanceTimersByTimeAsync(100);
    expect(onGone).toHaveBeenCalledOnce();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(onGone).toHaveBeenCalledOnce();
  });

  it('notices at once a supervisor that died before the watch began', async () => {
    const onGone = vi.fn();
    watchSupervisor({ supervisorPid: 4242, onGone, intervalMs: 60_000, parentPid: () => 1 });
    await Promise.resolve();
    expect(onGone).toHaveBeenCalledOnce();
  });

  it('watches nothing for a process started on its own, and stops when asked', async () => {
    vi.useFakeTimers();
    const parentPid = vi.fn(() => 1);
    watchSupervisor({ supervisorPid: undefined, onGone: () => {}, intervalMs: 100, parentPid });
    const onGone = vi.fn();
    let parent = 4242;
    const stop = watchSupervisor({ supervisorPid: 4242, onGone, intervalMs: 100, parentPid: () => parent });
    await vi.advanceTimersByTimeAsync(100);
    stop();
    parent = 1;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(parentPid).not.toHaveBeenCalled();
    expect(onGone).not.toHaveBeenCalled();
  });
});
