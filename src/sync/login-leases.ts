import type { Db } from '../db';

/**
 * Leases on Client Online logins (by ref): pushes that carry the same login take turns. A lease is
 * a row with an expiry, so no database connection is held while the portal works, and a holder
 * that vanished (a crashed worker, a request that timed out) blocks others only until it expires.
 */

/**
 * Takes a lease on every ref for `holder`, or on none: one short transaction that writes the refs
 * in sorted order (so two takers never wait on each other in a circle). A ref whose lease expired,
 * or that `holder` holds already, is taken (again); one held by someone else fails the whole take.
 */
export async function tryTakeLoginLeases(db: Db, refs: readonly string[], holder: string, leaseMs: number): Promise<boolean> {
  const sorted = [...new Set(refs)].sort();
  if (sorted.length === 0) return true;
  const trx = await db.transaction();
  try {
    const { rows } = await trx.raw<{ rows: { ref: string }[] }>(
      `insert into client_online_login_leases (ref, holder, expires_at)
       select ref, ?, clock_timestamp() + make_interval(secs => ?)
         from unnest(?::text[]) with ordinality as wanted(ref, position) order by position
       on conflict (ref) do update set holder = excluded.holder, expires_at = excluded.expires_at
         where client_online_login_leases.expires_at <= clock_timestamp()
            or client_online_login_leases.holder = excluded.holder
       returning ref`,
      [holder, leaseMs / 1000, sorted],
    );
    if (rows.length === sorted.length) {
      await trx.commit();
      return true;
    }
    await trx.rollback();
    return false;
  } catch (error) {
    if (!trx.isCompleted()) await trx.rollback();
    throw error;
  }
}

/** Gives back every lease `holder` has. */
export async function releaseLoginLeases(db: Db, holder: string): Promise<void> {
  await db('client_online_login_leases').where({ holder }).del();
}
