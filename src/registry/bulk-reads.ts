import type { Db } from '../db';
import { contactsQuery, toClient, toContact, type Row } from './records';
import type { Client, Contact } from './schemas';

// What the reconcile reads in batches: clients with their contacts, and the masters of their followers.

/** A page of clients, by id, each with its current contacts: what the reconcile compares in one batch. */
export async function loadClientsPage(
  db: Db,
  afterId: number,
  limit: number,
): Promise<{ client: Client; contacts: Contact[] }[]> {
  return db.transaction(
    async (trx) => {
      const clients = ((await trx('clients').where('id', '>', afterId).orderBy('id').limit(limit)) as Row[]).map(toClient);
      if (clients.length === 0) return [];
      const contactRows = (await contactsQuery(trx)
        .whereIn('contacts.client_id', clients.map((client) => client.id))
        .whereNull('contacts.deleted_at')
        .orderBy('contacts.id')) as Row[];
      const byClient = new Map<number, Contact[]>();
      for (const contact of contactRows.map(toContact)) byClient.set(contact.clientId, [...(byClient.get(contact.clientId) ?? []), contact]);
      return clients.map((client) => ({ client, contacts: byClient.get(client.id) ?? [] }));
    },
    { isolationLevel: 'repeatable read', readOnly: true },
  );
}

/** The person clients and contacts with these ids (masters of a batch's followers). */
export async function loadMasters(
  db: Db,
  ids: { clientIds: readonly number[]; contactIds: readonly number[] },
): Promise<{ clients: Client[]; contacts: Contact[] }> {
  const clients = ids.clientIds.length === 0 ? [] : ((await db('clients').whereIn('id', [...ids.clientIds])) as Row[]).map(toClient);
  const contacts =
    ids.contactIds.length === 0 ? [] : ((await contactsQuery(db).whereIn('contacts.id', [...ids.contactIds])) as Row[]).map(toContact);
  return { clients, contacts };
}
