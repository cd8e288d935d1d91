import type { ClientOnlineMasters } from '../../src/domain/client-online';
import type { Drift } from '../../src/domain/drift';
import { countOutlook, type OutlookCounts, type OutlookItem } from '../../src/domain/outlook';
import type { PortalCallCounter } from '../../src/portals/http';
import type { PortalReconcileCounts } from '../../src/registry/reconcile-runs';
import { loadClientsPage } from '../../src/registry/bulk-reads';
import type { Client } from '../../src/registry/schemas';
import { toActivityFailure } from '../failures';
import { withHeartbeats } from '../heartbeat';
import { loadBatch, mastersOf } from './batch';
import { ledgerName, type ReconcileContext } from './context';
import { knownRecords, runLookups } from './ledger-lookups';
import { recordDrift, recordOrphans, recordOutlook } from './records';
import type { Batch, ReconcileAdapter, ReconcilePortalInput, RunLookups } from './types';

type ReconcileCounts = Omit<PortalReconcileCounts, 'portal' | 'orphans' | 'reads'>;

/** What a reconcile attempt has finished, carried by its heartbeats: a retry goes on after the last batch done. */
interface Progress {
  afterId: number;
  counts: ReconcileCounts;
}

function addCounts(a: OutlookCounts, b: OutlookCounts): OutlookCounts {
  return {
    adopt: a.adopt + b.adopt,
    create: a.create + b.create,
    update: a.update + b.update,
    keep: a.keep + b.keep,
    conflicts: a.conflicts + b.conflicts,
    credentialsMails: a.credentialsMails + b.credentialsMails,
  };
}

/** One batch compared with the portal's snapshot: the drifted clients, the outlook, and the counts so far. */
interface ComparedBatch {
  drifted: { client: Client; drift: Drift[] }[];
  outlooks: { client: Client; items: OutlookItem[] }[];
  counts: ReconcileCounts;
}

/** What the next syncs would do for one client, each person's login counted at the first client only. */
function outlookOnce(adapter: ReconcileAdapter<unknown>, entry: Batch['clients'][number], batch: Batch, snapshot: unknown, masters: ClientOnlineMasters, lookups: RunLookups): OutlookItem[] {
  // A person at several clients has one login: counted at the first client only.
  return adapter.outlook(entry, batch, snapshot, masters, lookups).filter((item) => {
    if (item.personKey === undefined) return true;
    if (lookups.seenPersons.has(item.personKey)) return false;
    lookups.seenPersons.add(item.personKey);
    return true;
  });
}

function compareBatch(adapter: ReconcileAdapter<unknown>, batch: Batch, snapshot: unknown, masters: ClientOnlineMasters, lookups: RunLookups, countsBefore: ReconcileCounts): ComparedBatch {
  let counts = countsBefore;
  const drifted: ComparedBatch['drifted'] = [];
  const outlooks: ComparedBatch['outlooks'] = [];
  for (const entry of batch.clients) {
    if (!adapter.concerns(entry, batch)) continue;
    counts = { ...counts, checked: counts.checked + 1 };
    const items = outlookOnce(adapter, entry, batch, snapshot, masters, lookups);
    if (items.length > 0) {
      outlooks.push({ client: entry.client, items });
      counts = { ...counts, outlook: addCounts(counts.outlook, countOutlook(items)) };
    }
    const drift = adapter.drift(entry, batch, snapshot, masters);
    if (drift.length > 0) drifted.push({ client: entry.client, drift });
    else if (batch.withErrors.has(entry.client.clientNumber)) counts = { ...counts, knownErrors: counts.knownErrors + 1 };
    else counts = { ...counts, inSync: counts.inSync + 1 };
  }
  return { drifted, outlooks, counts };
}

/**
 * The reconcile of one portal: reads everything it holds in bulk, walks the registry in batches
 * comparing each client, records drift and outlook per batch, then the orphans.
 */
export async function reconcilePortal(context: ReconcileContext, input: ReconcilePortalInput): Promise<PortalReconcileCounts> {
  const { db, batchSize } = context;
  const portal = ledgerName[input.portal];
  const adapter = context.adapters[input.portal];
  return withHeartbeats<Progress, PortalReconcileCounts>(async (progress) => {
    const counter: PortalCallCounter = { reads: 0, writes: 0 };
    const snapshot = await adapter.read(counter);
    const lookups = await runLookups(db, portal);
    // A retry reads the portal again (it may have changed) and goes on after the last batch done.
    let { afterId, counts } = progress.resumeFrom ?? { afterId: 0, counts: { checked: 0, inSync: 0, drifted: 0, knownErrors: 0, outlook: countOutlook([]) } };
    for (;;) {
      const clients = await loadClientsPage(db, afterId, batchSize);
      if (clients.length === 0) break;
      const batch = await loadBatch(db, portal, clients);
      const masters = input.portal === 'clientOnline' ? await mastersOf(db, clients) : new Map();
      const compared = compareBatch(adapter, batch, snapshot, masters, lookups, counts);
      await recordDrift(db, input.runId, portal, input.dryRun, compared.drifted);
      await recordOutlook(db, input.runId, portal, compared.outlooks);
      counts = { ...compared.counts, drifted: compared.counts.drifted + compared.drifted.length };
      afterId = clients[clients.length - 1]!.client.id;
      progress.report({ afterId, counts });
    }

    const orphans = adapter.orphans(snapshot, await knownRecords(db, portal));
    await recordOrphans(db, input.runId, portal, orphans);
    return { portal: input.portal, ...counts, orphans: orphans.length, reads: counter.reads };
  }).catch((error: unknown) => {
    throw toActivityFailure(error);
  });
}
