import type { Db } from '../db';
import { columnsOf, fromRow, type RowOf } from '../db-rows';
import type { Portal } from './ledger';

/**
 * Holding a portal (issue 17, item 2): while an operator holds a portal, nothing is written to it.
 * Changes keep arriving in the registry and the outbox as always; each sync of the held portal
 * notes its client in `held_syncs` and answers `held` without a call to the portal, so the client
 * stays pending there (nothing is marked applied). Releasing deletes the hold and, in the same
 * transaction, appends a `portal.released` event for every client noted, so the dispatcher wakes
 * exactly those clients' workflows and each syncs once with everything that changed meanwhile.
 *
 * The note and the release meet under a row lock: a sync notes its client while it holds the hold's
 * row FOR SHARE, and the release's delete of that row waits for it, so no client is noted after the
 * release has read the list (and forgotten). A sync that had passed the check before the hold was
 * set finishes the writes it was making; it is at most one sync per client.
 */

export interface PortalHold {
  /** The name of the token that set it (`api` for the built-in token). */
  heldBy: string;
  heldAt: Date;
  /** Why, as the operator put it (a maintenance window, a go-live). */
  note: string | null;
  /** Clients whose sync met the hold: each syncs once the portal is released. */
  heldClients: number;
}

/**
 * Why a sync did not bring the portal to the registry although nothing failed: the portal is held,
 * or creations wait for the approval of the credentials-mail guard (src/sync/mail-guard.ts). The
 * sync's summary says so, and the client's workflow leaves the portal's applied horizon as it was.
 */
export type SyncHold = 'portal' | 'credentials-mails';

type StoredHold = Omit<PortalHold, 'heldClients'>;
const holdColumns = columnsOf<StoredHold>(['heldBy', 'heldAt', 'note']);

/** Holds the portal. Idempotent: a portal held already keeps its hold (who set it, when, why). */
export async function holdPortal(db: Db, portal: Portal, hold: { heldBy: string; note?: string | null }): Promise<{ hold: PortalHold; alreadyHeld: boolean }> {
  const inserted = await db('portal_holds')
    .insert({ portal, held_by: hold.heldBy, note: hold.note ?? null })
    .onConflict('portal')
    .ignore()
    .returning('portal');
  const current = await portalHold(db, portal);
  if (!current) throw new Error(`the hold of ${portal} vanished while it was being set`);
  return { hold: current, alreadyHeld: inserted.length === 0 };
}

/**
 * Releases the portal: the hold goes, and every client whose sync met it gets a `portal.released`
 * event, in one transaction. Idempotent: releasing a portal that is not held changes nothing.
 */
export async function releasePortal(db: Db, portal: Portal): Promise<{ released: boolean; clients: number }> {
  return db.transaction(async (trx) => {
    // Waits for every sync noting its client under the hold (FOR SHARE) to commit.
    const deleted = await trx('portal_holds').where({ portal }).delete().returning('portal');
    // A new snapshot (read committed): the notes of those syncs are seen here.
    const noted = await trx('held_syncs').where({ portal }).delete().returning<{ client_number: string }[]>('client_number');
    if (noted.length === 0) return { released: deleted.length > 0, clients: 0 };
    const clients = await trx('clients')
      .whereIn('client_number', noted.map((row) => row.client_number))
      .orderBy('id')
      .select<{ id: number; client_number: string }[]>('id', 'client_number');
    for (let i = 0; i < clients.length; i += 1000) {
      await trx('outbox_events').insert(
        clients.slice(i, i + 1000).map((client) => ({ client_number: client.client_number, kind: 'portal.released', record_type: 'client', record_id: client.id })),
      );
    }
    return { released: deleted.length > 0, clients: clients.length };
  });
}

/** The portal's hold, or null when it is not held. */
export async function portalHold(db: Db, portal: Portal): Promise<PortalHold | null> {
  const row = await db('portal_holds').where({ portal }).first<RowOf<StoredHold> | undefined>(holdColumns);
  if (!row) return null;
  const [counted] = await db('held_syncs').where({ portal }).count<{ count: string | number }[]>({ count: '*' });
  return { ...fromRow<StoredHold>(row), heldClients: Number(counted?.count ?? 0) };
}

/** Whether the portal is held: one indexed read, for the writers that check before each write. */
export async function isPortalHeld(db: Db, portal: Portal): Promise<boolean> {
  return (await db('portal_holds').where({ portal }).first('portal')) !== undefined;
}

/** Every portal's hold (null: not held). */
export async function portalHolds(db: Db): Promise<Record<Portal, PortalHold | null>> {
  return { caseware: await portalHold(db, 'caseware'), client_online: await portalHold(db, 'client_online') };
}

/**
 * The check every sync of a portal makes before anything else: true when the portal is held, and
 * the client is noted for the release (the sync then writes nothing and marks nothing applied);
 * false, and the sync goes on. The common case (not held) is one indexed read.
 */
export async function syncMeetsHold(db: Db, portal: Portal, clientNumber: string): Promise<boolean> {
  if (!(await isPortalHeld(db, portal))) return false;
  return db.transaction(async (trx) => {
    // Under the hold's row lock: a release in progress waits for this note, or this sees it gone.
    const hold = await trx('portal_holds').where({ portal }).forShare().first<{ portal: string } | undefined>('portal');
    if (!hold) return false;
    await trx('held_syncs').insert({ portal, client_number: clientNumber }).onConflict(['portal', 'client_number']).ignore();
    return true;
  });
}

/**
 * A sync's opening: `open` reads in its own transaction and answers 'held' when it finds the
 * portal held. Then the client is noted for the release under the hold's lock; a hold released
 * meanwhile opens again.
 */
export async function openUnlessHeld<T>(db: Db, portal: Portal, clientNumber: string, open: () => Promise<T | 'held'>): Promise<T | 'held'> {
  for (;;) {
    const opened = await open();
    if (opened !== 'held') return opened;
    if (await syncMeetsHold(db, portal, clientNumber)) return 'held';
  }
}
