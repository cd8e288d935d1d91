import type { Db } from '../db';
import { appendOutboxEvent } from '../outbox/store';
import { RegistryError } from '../registry/repository';

/**
 * An operator's resync: the client's portals are brought to the registry again, every field sent
 * even where the ledger says the portal has it (someone may have changed it there by hand). The
 * ledger's last-sent copies are cleared, which makes the next sync send everything, and a
 * `client.resync` event starts that sync; both in one transaction, so neither happens alone.
 * Returns how many clients will be resynced.
 */
export async function requestResync(db: Db, clientNumber?: string): Promise<number> {
  return db.transaction(async (trx) => {
    const clients = await trx('clients')
      .modify((query) => {
        if (clientNumber !== undefined) void query.where({ client_number: clientNumber });
      })
      .orderBy('id')
      .select<{ id: number; client_number: string }[]>('id', 'client_number');
    if (clientNumber !== undefined && clients.length === 0) {
      throw new RegistryError('not-found', `client ${clientNumber} does not exist in the registry`);
    }
    await trx('portal_identities')
      .modify((query) => {
        if (clientNumber !== undefined) void query.where({ client_number: clientNumber });
      })
      .whereNotNull('last_sent')
      .update({ last_sent: null });
    for (const client of clients) {
      await appendOutboxEvent(trx, { clientNumber: client.client_number, kind: 'client.resync', recordType: 'client', recordId: client.id });
    }
    return clients.length;
  });
}
