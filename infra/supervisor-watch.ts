/**
 * How a role started by `npm start` learns that its supervisor is gone. The supervisor passes its
 * pid on the command line; a supervisor killed hard (SIGKILL, the OOM killer) cannot stop its
 * children, and the kernel then re-parents them, so the parent pid no longer matches.
 */
export const SUPERVISOR_PID_FLAG = '--supervisor-pid';

/** The supervisor's pid from `--supervisor-pid=<pid>` in `argv`; undefined when run on its own. */
export function supervisorPidOf(argv: readonly string[]): number | undefined {
  const prefix = `${SUPERVISOR_PID_FLAG}=`;
  const value = argv.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
  const pid = Number(value);
  return value && Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

/**
 * Calls `onGone` once, as soon as this process's parent is no longer `supervisorPid` (also when
 * that happened before the call). Does nothing when `supervisorPid` is undefined. Reads the parent
 * pid every `intervalMs` on an unref'd timer: one syscall, and it never keeps the process alive.
 * Returns a function that stops watching.
 */
export function watchSupervisor(options: {
  supervisorPid: number | undefined;
  onGone: () => void;
  intervalMs?: number;
  parentPid?: () => number;
}): () => void {
  const { supervisorPid, onGone, intervalMs = 500, parentPid = () => process.ppid } = options;
  if (supervisorPid === undefined) return () => {};
  let watching = true;
  const stop = () => {
    watching = false;
    clearInterval(timer);
  };
  const check = () => {
    if (!watching || parentPid() === supervisorPid) return;
    stop();
    onGone();
  };
  const timer = setInterval(check, intervalMs);
  timer.unref();
  queueMicrotask(check);
  return stop;
}
