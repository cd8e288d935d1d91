import type { Db } from '../../src/db';
import type { Drift, Orphan } from '../../src/domain/drift';
import type { OutlookItem } from '../../src/domain/outlook';
import type { Client } from '../../src/registry/schemas';
import type { Portal } from '../../src/sync/ledger';

/** Records a batch's drift: repairs and their events in one transaction (a dry run: notes only). */
export async function recordDrift(db: Db, runId: number, portal: Portal, dryRun: boolean, drifted: { client: Client; drift: Drift[] }[]): Promise<void> {
  if (drifted.length === 0) return;
  await db.transaction(async (trx) => {
    const inserted = await trx('reconcile_repairs')
      .insert(
        drifted.map(({ client, drift }) => ({
          run_id: runId,
          portal,
          client_number: client.clientNumber,
          drift: JSON.stringify(drift),
          status: dryRun ? 'dry-run' : 'pending',
        })),
      )
      .onConflict(['run_id', 'portal', 'client_number'])
      .ignore()
      .returning<{ client_number: string }[]>('client_number');
    if (dryRun || inserted.length === 0) return;
    const fresh = new Set(inserted.map((row) => row.client_number));
    await trx('outbox_events').insert(
      drifted
        .filter(({ client }) => fresh.has(client.clientNumber))
        .map(({ client }) => ({ client_number: client.clientNumber, kind: 'client.reconcile', record_type: 'client', record_id: client.id })),
    );
  });
}

/** Records what the next syncs of a batch's clients would do at the portal (each item once per run). */
export async function recordOutlook(db: Db, runId: number, portal: Portal, outlooks: { client: Client; items: OutlookItem[] }[]): Promise<void> {
  const rows = outlooks.flatMap(({ client, items }) =>
    items.map((item) => ({
      run_id: runId,
      portal,
      client_number: client.clientNumber,
      action: item.action,
      object: item.object,
      record_type: item.recordType,
      record_id: item.recordId,
      credentials_mails: item.credentialsMails,
      detail: item.detail ?? null,
    })),
  );
  // A retried attempt redoes the batch it was in: its rows are written again, once.
  const numbers = outlooks.map(({ client }) => client.clientNumber);
  await db.transaction(async (trx) => {
    if (numbers.length > 0) await trx('reconcile_outlook').where({ run_id: runId, portal }).whereIn('client_number', numbers).delete();
    for (let i = 0; i < rows.length; i += 1000) await trx('reconcile_outlook').insert(rows.slice(i, i + 1000));
  });
}

/** Records the orphans a run found at the portal (reported, never deleted); a retry writes each once. */
export async function recordOrphans(db: Db, runId: number, portal: Portal, orphans: Orphan[]): Promise<void> {
  for (let i = 0; i < orphans.length; i += 1000) {
    await db('reconcile_orphans')
      .insert(orphans.slice(i, i + 1000).map((o) => ({ run_id: runId, portal, kind: o.kind, remote_id: o.remoteId, reason: o.reason })))
      .onConflict(['run_id', 'portal', 'kind', 'remote_id'])
      .ignore();
  }
}
