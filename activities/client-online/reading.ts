import { ApplicationFailure } from '@temporalio/common';
import { isDeepStrictEqual } from 'node:util';
import type { Db } from '../../src/db';
import { contactRef, desiredClientOnlineState, type ClientOnlineLogin, type ClientOnlinePush, type ClientOnlineUser, type DesiredClientOnlineState } from '../../src/domain/client-online';
import { getClient } from '../../src/registry/clients';
import { getContact, loadClientWithContacts } from '../../src/registry/contacts';
import { isRegistryError } from '../../src/registry/errors';
import type { Client, Contact } from '../../src/registry/schemas';
import { identitiesForClient, type PortalIdentity } from '../../src/sync/ledger';
import { adoptedRefs, keptUsers, personLogins } from '../../src/sync/login-refs';
import { portal, type ClientOnlineContext } from './context';
import { registryRecordMissingFailure } from '../../workflows/definitions';

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
 * What the ledger keeps of a push: the push itself (its logins decide which leases a later push or
 * delete takes), but never the BSN, which the registry holds already; only that one was sent.
 */
export function ledgerCopy(push: ClientOnlinePush): Omit<ClientOnlinePush, 'bsn'> & { bsnSent?: boolean } {
  const { bsn, ...rest } = push;
  return bsn === undefined ? rest : { ...rest, bsnSent: bsn !== null };
}

/** The logins a push carried, from the ledger's copy of it. */
function refsOf(copy: unknown): string[] {
  const users = (copy as { users?: unknown } | null)?.users;
  if (!Array.isArray(users)) return [];
  return users.map((user) => (user as { ref?: unknown }).ref).filter((ref): ref is string => typeof ref === 'string');
}

/**
 * The logins Client Online may hold under this client: those of the last push it answered (while
 * it still has the client there), and those of any push whose answer never came, which it may
 * have applied all the same.
 */
function heldRefs(identity: PortalIdentity | undefined): string[] {
  const answered = identity?.access === 'active' ? refsOf(identity.lastSent) : [];
  return [...new Set([...answered, ...(identity?.unconfirmedRefs ?? [])])];
}

/** What one sync run reads: the registry, what Client Online should hold, and every login it touches. */
export interface ClientOnlineReading {
  clientNumber: string;
  desired: DesiredClientOnlineState;
  identity: PortalIdentity | undefined;
  /** The logins a push or delete adds, keeps or removes: the desired push's and those Client Online may hold. */
  refs: Set<string>;
  /** The persons of the push portal-sync has never met: their logins are looked for before any is created. */
  unmet: ClientOnlineLogin[];
  /** Users kept in the push from before portal-sync's first push (src/sync/login-refs.ts). */
  kept: ClientOnlineUser[];
}

/** Portal-sync has not pushed this client before: Client Online may hold it from an earlier link. */
export function firstPush({ identity }: ClientOnlineReading): boolean {
  return !identity || (identity.lastSent === null && identity.unconfirmedRefs === null);
}

/**
 * Client Online holds, by the ledger, exactly the push the registry asks for this client: it
 * answered that push, and no push sent since is unanswered.
 */
export function holdsItsPush({ desired, identity }: ClientOnlineReading): boolean {
  return (
    desired.push !== null &&
    identity?.access === 'active' &&
    identity.unconfirmedRefs === null &&
    isDeepStrictEqual(identity.lastSent, ledgerCopy(desired.push))
  );
}

/**
 * The push need not be sent: Client Online holds it by the ledger, and it carries no BSN (a BSN is
 * never kept in the ledger, so a push that carries one always is sent).
 */
export function sentAsIs(reading: ClientOnlineReading): boolean {
  return reading.desired.push?.bsn == null && holdsItsPush(reading);
}

/** The registry asks Client Online to hold the client (not to delete it). */
export function hasPush(reading: ClientOnlineReading): reading is ClientOnlineReading & { desired: { push: ClientOnlinePush } } {
  return reading.desired.push !== null;
}

/** The logins Client Online may hold under the client that its next push or delete takes away. */
export function removedRefs({ desired, identity }: ClientOnlineReading): string[] {
  const kept = new Set(desired.push?.users.map((u) => u.ref) ?? []);
  return heldRefs(identity).filter((ref) => !kept.has(ref));
}

/** Persons of the push portal-sync has never met, or a client Client Online may hold from before: they are met before anything is leased. */
export function mustMeet(reading: ClientOnlineReading): boolean {
  return reading.desired.push !== null && (reading.unmet.length > 0 || firstPush(reading));
}

/**
 * What one sync run reads of a client: in one snapshot and one commit, or, given a transaction,
 * inside it (a savepoint, so that a client that cannot be read leaves the transaction usable).
 */
export async function readClient(context: ClientOnlineContext, clientNumber: string, reader: Db = context.db): Promise<ClientOnlineReading> {
  return reader.transaction((trx) => readIn(context, trx, clientNumber), { isolationLevel: 'repeatable read', readOnly: true });
}

async function readIn(context: ClientOnlineContext, db: Db, clientNumber: string): Promise<ClientOnlineReading> {
  const registry = await loadClientWithContacts(db, clientNumber).catch((error: unknown) => {
    if (isRegistryError(error) && error.code === 'not-found') {
      throw ApplicationFailure.nonRetryable(`client ${clientNumber} is not in the registry`, registryRecordMissingFailure);
    }
    throw error;
  });
  const masters = await loadMasters(db, registry.contacts);
  const byKey = desiredClientOnlineState(registry.client, registry.contacts, masters, { sendBsn: context.sendBsn });
  const logins = await personLogins(db, byKey.logins.map((login) => login.personKey));
  const loginRefs = adoptedRefs(logins);
  const kept = byKey.push ? await keptUsers(db, clientNumber) : [];
  const desired =
    loginRefs.size === 0 && kept.length === 0
      ? byKey
      : desiredClientOnlineState(registry.client, registry.contacts, masters, { sendBsn: context.sendBsn, loginRefs, keptUsers: kept });
  const identity = (await identitiesForClient(db, portal, clientNumber)).find((i) => i.recordType === 'client');
  const refs = new Set([...(desired.push?.users.map((u) => u.ref) ?? []), ...heldRefs(identity)]);
  const unmet = desired.logins.filter((login) => !logins.has(login.personKey));
  return { clientNumber, desired, identity, refs, unmet, kept };
}
