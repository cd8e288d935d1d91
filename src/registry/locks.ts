import type { Knex } from 'knex';

// How the registry's writes lock rows.
//
// Locking order, the same in every write and in an offboarding (src/registry/offboardings.ts):
// client rows first, by client number, then contact rows, by id. A row the write changes is locked
// FOR NO KEY UPDATE before it is read; a row it only relies on (a contact's client, a master) FOR
// SHARE. Never share-lock a row and then update it: two writers holding the share would each wait
// for the other to let go (the deadlock of issue 18). What the order cannot rule out,
// writeTransaction runs again.

/**
 * Locks a client row for an update of it: FOR NO KEY UPDATE, which waits for an offboarding that
 * holds it (stored under FOR UPDATE of its clients) and for writes at its contacts (FOR SHARE).
 */
export async function lockClientForUpdate(trx: Knex.Transaction, clientNumber: string): Promise<void> {
  await trx('clients').where({ client_number: clientNumber }).forNoKeyUpdate().select('id');
}

/**
 * Share-locks client rows in client-number order, the order an offboarding locks them in (for
 * update) when it is stored, so that a write that needs two of them never deadlocks with it.
 */
export async function lockClientRowsInOrder(trx: Knex.Transaction, clientNumbers: readonly string[]): Promise<void> {
  await trx('clients').whereIn('client_number', [...new Set(clientNumbers)]).orderBy('client_number').forShare().select('id');
}

/**
 * Locks contact rows in id order: FOR NO KEY UPDATE the ones the write changes, FOR SHARE the ones
 * it only relies on (a new master, which may not be deleted or become a follower meanwhile). Call
 * it after locking their clients.
 */
export async function lockContactRows(trx: Knex.Transaction, rows: readonly { id: number; mode: 'update' | 'share' }[]): Promise<void> {
  const modes = new Map<number, 'update' | 'share'>();
  for (const { id, mode } of rows) modes.set(id, modes.get(id) === 'update' ? 'update' : mode);
  for (const [id, mode] of [...modes].sort(([a], [b]) => a - b)) {
    const row = trx('contacts').where({ id });
    await (mode === 'update' ? row.forNoKeyUpdate() : row.forShare()).select('id');
  }
}

/**
 * Locks a contact for an update of it: its client's row first (an offboarding holding the client
 * waits, or is waited for), then its own row. A contact never moves to another client, so its
 * client can be found before the lock. A change the offboarding guard checks (links, master,
 * status) share-locks the client; an edit of the contact's own fields only key-share-locks it,
 * which orders it with an offboarding being stored (FOR UPDATE) but not behind an edit of the
 * client's fields.
 */
export async function lockContactForUpdate(trx: Knex.Transaction, id: number, { guarded = true }: { guarded?: boolean } = {}): Promise<void> {
  const client = trx('clients').whereIn('id', trx('contacts').where({ id }).select('client_id'));
  await (guarded ? client.forShare() : client.forKeyShare()).select('id');
  await lockContactRows(trx, [{ id, mode: 'update' }]);
}
