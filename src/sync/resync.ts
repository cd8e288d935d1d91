import type { Db } from '../db';
import { appendOutboxEvent } from '../outbox/store';
import { RegistryError } from '../registry/errors';
import type { RepairRequest } from './repairs';

/**
 * An operator's resync: the client's portals are brought to the registry again, every record
 * checked against the portal itself even where the ledger says the portal has it (someone may have
 * changed it there by hand). It is a repair no reconcile run found (src/sync/repairs.ts): one per
 * client and portal, naming the client with the issue `resync`, and a `client.resync` event that
 * starts the sync; all in one transaction, so neither happens alone.
 *
 * The ledger is left as it is. What it says was last sent is also what protects a login: the Client
 * Online hand-over reads from it which logins a push takes away from a client, so clearing it would
 * let a login fall to no client, be deleted, and come back with a second credentials mail.
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
    for (let i = 0; i < clients.length; i += 1000) {
      const page = clients.slice(i, i + 1000);
      await trx('reconcile_repairs').insert(
        page.flatMap((client) =>
          (['caseware', 'client_online'] as const).map((portal) => ({
            run_id: null,
            portal,
            client_number: client.client_number,
            drift: JSON.stringify([resyncDrift(client.id)]),
            status: 'pending',
          })),
        ),
      );
    }
    for (const client of clients) {
      await appendOutboxEvent(trx, { clientNumber: client.client_number, kind: 'client.resync', recordType: 'client', recordId: client.id });
    }
    return clients.length;
  });
}

function resyncDrift(clientId: number): RepairRequest {
  return { recordType: 'client', recordId: clientId, issue: 'resync' };
}
