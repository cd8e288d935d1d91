import type { Db } from '../db';

export interface RetentionOptions {
  /** Delivered outbox events older than this are deleted once every portal of their client has passed them. */
  outboxRetentionDays: number;
  /** Resolved sync errors older than this are deleted. */
  syncErrorRetentionDays: number;
}

/**
 * Deletes what the sync no longer needs: delivered outbox events older than the retention whose
 * transaction every portal of the client has passed (the sync status reads the others, see
 * portalsBehind), and resolved sync errors older than theirs. A master's change is not read by the
 * status and goes by age alone.
 */
export async function pruneSyncTables(db: Db, options: RetentionOptions): Promise<{ events: number; syncErrors: number }> {
  const events = await db.raw<{ rowCount: number }>(
    `delete from outbox_events e
      where e.delivered_at < now() - make_interval(days => :days)
        and (e.kind = 'master.updated' or not exists (
              select 1 from (values ('caseware'), ('client_online')) as p (portal)
                left join portal_sync_state s on s.portal = p.portal and s.client_number = e.client_number
               where e.xid >= coalesce(s.applied_horizon, 0)::text::xid8))`,
    { days: options.outboxRetentionDays },
  );
  const syncErrors = await db('sync_errors')
    .where('resolved_at', '<', db.raw('now() - make_interval(days => ?)', [options.syncErrorRetentionDays]))
    .delete();
  return { events: events.rowCount, syncErrors };
}
