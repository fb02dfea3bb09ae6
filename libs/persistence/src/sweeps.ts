/** How often expired rows (sessions, request and assertion ids) are swept by each server process. */
export const SWEEP_INTERVAL_MS = 60_000;

const lastSweep = new Map<string, number>();

/**
 * True at most once per `intervalMs` for each `table` in this process, for housekeeping that need not run on every
 * write: deleting expired rows. Whoever reads those tables ignores expired rows anyway, so a sweep that comes a
 * minute late changes nothing but the table's size; sweeping at every sign-in cost two statements per sign-in.
 */
export function sweepDue(table: string, now = Date.now(), intervalMs = SWEEP_INTERVAL_MS): boolean {
  const last = lastSweep.get(table);
  if (last !== undefined && now - last < intervalMs) return false;
  lastSweep.set(table, now);
  return true;
}
