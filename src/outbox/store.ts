import type { Knex } from 'knex';

export type OutboxEventKind =
  | 'client.created'
  | 'client.updated'
  | 'client.links-changed'
  | 'contact.created'
  | 'contact.updated'
  | 'contact.links-changed'
  | 'contact.deleted'
  | 'contact.master-changed'
  /** A master's login details (email, preference; a master contact's mobile) changed: its follower's client re-pushes the shared login. */
  | 'contact.master-login-changed'
  | 'master.updated'
  | 'client.resync'
  /** The reconcile found the portals holding something else; the client's sync repairs it (src/sync/repairs.ts). */
  | 'client.reconcile'
  /** An operator let go of the Client Online users kept from before go-live (src/api/routes-kept-users.ts). */
  | 'client.kept-users-released'
  /** A held portal was released and this client's sync had met the hold: it syncs now (src/sync/portal-holds.ts). */
  | 'portal.released'
  /** Two operators approved the credentials mails held for this client: its sync creates those logins now (src/sync/mail-guard.ts). */
  | 'credentials-mails.approved';

export interface OutboxEventInput {
  clientNumber: string;
  kind: OutboxEventKind;
  recordType: 'client' | 'contact';
  recordId: number;
}

/** Appends a change event; call it inside the transaction of the registry write it describes. */
export async function appendOutboxEvent(trx: Knex.Transaction, event: OutboxEventInput): Promise<void> {
  await trx('outbox_events').insert({
    client_number: event.clientNumber,
    kind: event.kind,
    record_type: event.recordType,
    record_id: event.recordId,
  });
}
