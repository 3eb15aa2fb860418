// Whether a process recorded in a lock or session file still runs.

/** True when `pid` exists, including one owned by another user (EPERM: it exists, we may not signal it). */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
