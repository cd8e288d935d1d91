import type { Db } from '../db';
import { PortalError } from '../portals/http-errors';
import type { Portal } from './ledger';

/**
 * Portal health: whether the service can use a portal at all. A failure that is not about a record
 * (credentials or permissions refused, answers it cannot read) leaves the client pending and is
 * retried; it is recorded here once per portal rather than as a sync error on every client. A sync
 * that gets through records the portal healthy again.
 */

export interface PortalHealth {
  healthy: boolean;
  /** Since when the portal has been in this state; null when it has never failed. */
  since: Date | null;
  /** The newest failure, kept after the portal healed; its message names no personal data. */
  lastFailure: { code: string; message: string } | null;
  /** Failures met since the portal became unhealthy; 0 when healthy. */
  failures: number;
}

const portals: readonly Portal[] = ['caseware', 'client_online'];

/** A portal's failure that no record is to blame for: see PortalErrorScope. */
export function isPortalFailure(error: unknown): error is PortalError {
  return error instanceof PortalError && error.scope === 'portal';
}

/** Records a portal-level failure: the portal becomes (or stays) unhealthy. Concurrent calls are safe. */
export async function recordPortalFailure(db: Db, portal: Portal, failure: { code: string; message: string }): Promise<void> {
  await db.raw(
    `insert into portal_health (portal, healthy, since, last_failure_code, last_failure_message, failures, checked_at)
     values (?, false, now(), ?, ?, 1, now())
     on conflict (portal) do update set
       since = case when portal_health.healthy then now() else portal_health.since end,
       failures = case when portal_health.healthy then 1 else portal_health.failures + 1 end,
       healthy = false,
       last_failure_code = excluded.last_failure_code,
       last_failure_message = excluded.last_failure_message,
       checked_at = now()`,
    [portal, failure.code, failure.message],
  );
}

/** Records that a sync got through: an unhealthy portal is healthy again. Writes nothing when it was. */
export async function recordPortalHealthy(db: Db, portal: Portal): Promise<void> {
  await db('portal_health')
    .where({ portal, healthy: false })
    .update({ healthy: true, since: db.fn.now(), failures: 0, checked_at: db.fn.now() });
}

/**
 * Runs one sync and records a portal-level failure: the portal becomes unhealthy (and the error is
 * rethrown for the retry policy). The sync records the portal healthy again itself
 * (recordPortalHealthy), in the transaction that closes it.
 */
export async function trackPortalFailures<T>(db: Db, portal: Portal, sync: () => Promise<T>): Promise<T> {
  try {
    return await sync();
  } catch (error) {
    if (isPortalFailure(error)) await recordPortalFailure(db, portal, { code: error.code, message: error.message });
    throw error;
  }
}

/** Every portal's health; a portal that never failed is healthy. */
export async function portalHealth(db: Db): Promise<Record<Portal, PortalHealth>> {
  const rows = await db('portal_health').select<
    { portal: Portal; healthy: boolean; since: Date; last_failure_code: string | null; last_failure_message: string | null; failures: number }[]
  >('portal', 'healthy', 'since', 'last_failure_code', 'last_failure_message', 'failures');
  const health = {} as Record<Portal, PortalHealth>;
  for (const portal of portals) {
    const row = rows.find((r) => r.portal === portal);
    health[portal] = row
      ? {
          healthy: row.healthy,
          since: row.since,
          lastFailure: row.last_failure_code === null ? null : { code: row.last_failure_code, message: row.last_failure_message ?? '' },
          failures: row.failures,
        }
      : { healthy: true, since: null, lastFailure: null, failures: 0 };
  }
  return health;
}
