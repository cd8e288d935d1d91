import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '../src/db';
import { contactRef, desiredClientOnlineState, type ClientOnlinePush } from '../src/domain/client-online';
import { ClientOnlineError } from '../src/portals/client-online/errors';
import { getClient, getContact, isRegistryError, loadClientWithContacts } from '../src/registry/repository';
import type { Client, Contact } from '../src/registry/schemas';
import { identitiesForClient, markApplied, reportSyncErrors, saveIdentity, type SyncErrorInput } from '../src/sync/ledger';
import type { SyncClientInput } from './caseware';
import { toActivityFailure } from './failures';

/** The Client Online calls the sync needs; `ClientOnlineClient` provides them over HTTP. */
export interface ClientOnlinePort {
  pushClient(clientNumber: string, body: ClientOnlinePush): Promise<unknown>;
  deleteClient(clientNumber: string): Promise<boolean>;
}

export interface ClientOnlineActivityDeps {
  db: Db;
  clientOnline: ClientOnlinePort;
  sendBsn: boolean;
}

export interface ClientOnlineSyncSummary {
  client: 'pushed' | 'deleted' | 'absent';
  users: number;
  syncErrors: number;
}

const portal = 'client_online' as const;

/** The masters (person clients and master contacts) the contacts follow, by login ref. */
async function loadMasters(db: Db, contacts: readonly Contact[]): Promise<Map<string, Client | Contact>> {
  const masters = new Map<string, Client | Contact>();
  for (const contact of contacts) {
    const ref = contactRef(contact);
    if (masters.has(ref)) continue;
    if (contact.masterClientId !== null) {
      const clientNumber = await db('clients').where({ id: contact.masterClientId }).first<{ client_number: string }>('client_number');
      if (clientNumber) masters.set(ref, await getClient(db, clientNumber.client_number));
    } else if (contact.masterContactId !== null) {
      masters.set(ref, await getContact(db, contact.masterContactId));
    }
  }
  return masters;
}

/**
 * Runs `push` while holding a lock on every login it carries. One person's login appears in the
 * pushes of several clients (his own and each company where he is a contact); two of those at
 * once could both make Client Online believe the login is new. Locks are taken in a fixed order,
 * so two pushes never wait on each other in a circle.
 */
async function withLoginLocks<T>(db: Db, refs: readonly string[], push: () => Promise<T>): Promise<T> {
  return db.transaction(async (trx) => {
    for (const ref of [...new Set(refs)].sort()) {
      await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`client-online-login:${ref}`]);
    }
    return push();
  });
}

export function createClientOnlineActivities(deps: ClientOnlineActivityDeps) {
  const { db, clientOnline } = deps;

  async function syncClient(input: SyncClientInput): Promise<ClientOnlineSyncSummary> {
    const { clientNumber } = input;
    const registry = await loadClientWithContacts(db, clientNumber).catch((error: unknown) => {
      if (isRegistryError(error) && error.code === 'not-found') {
        throw ApplicationFailure.nonRetryable(`client ${clientNumber} is not in the registry`, 'RegistryRecordMissing');
      }
      throw error;
    });
    const masters = await loadMasters(db, registry.contacts);
    const desired = desiredClientOnlineState(registry.client, registry.contacts, masters, { sendBsn: deps.sendBsn });
    const errors: SyncErrorInput[] = [...desired.conflicts];
    const key = { portal, recordType: 'client', recordId: registry.client.id, clientNumber } as const;
    const identity = (await identitiesForClient(db, portal, clientNumber)).find((i) => i.recordType === 'client');
    const summary: ClientOnlineSyncSummary = { client: 'absent', users: 0, syncErrors: 0 };

    try {
      if (desired.push) {
        const push = desired.push;
        await withLoginLocks(db, push.users.map((u) => u.ref), () => clientOnline.pushClient(clientNumber, push));
        await saveIdentity(db, key, { remoteId: clientNumber, lastSent: push, access: 'active' });
        summary.client = 'pushed';
        summary.users = push.users.length;
      } else if (identity && identity.access === 'active') {
        // Its logins lose access to it; Client Online deletes logins left with no client.
        await clientOnline.deleteClient(clientNumber);
        await saveIdentity(db, key, { access: 'revoked' });
        summary.client = 'deleted';
      }
    } catch (error) {
      if (!(error instanceof ClientOnlineError) || error.retryable) throw error;
      errors.push({
        recordType: 'client',
        recordId: registry.client.id,
        code: `client-online-${error.code}`,
        message:
          `client ${clientNumber}: ${error.message}` +
          (error.code === 'username-taken'
            ? '; a client user\'s email address is already the username of another Client Online login. Give the contact an address of its own, or link it to its master.'
            : ''),
      });
    }

    await reportSyncErrors(db, portal, clientNumber, errors);
    await markApplied(db, portal, input);
    summary.syncErrors = errors.length;
    return summary;
  }

  async function syncClientToClientOnline(input: SyncClientInput): Promise<ClientOnlineSyncSummary> {
    try {
      return await syncClient(input);
    } catch (error) {
      throw toActivityFailure(error);
    }
  }

  return { syncClientToClientOnline };
}

export type ClientOnlineActivities = ReturnType<typeof createClientOnlineActivities>;
