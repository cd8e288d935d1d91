import { ApplicationFailure } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../src/db';
import { contactRef, desiredClientOnlineState, type ClientOnlinePush, type DesiredClientOnlineState } from '../src/domain/client-online';
import { ClientOnlineError } from '../src/portals/client-online/errors';
import type { PortalCallCounter } from '../src/portals/http';
import { getClient, getContact, isRegistryError, loadClientWithContacts } from '../src/registry/repository';
import type { Client, Contact } from '../src/registry/schemas';
import { trackPortalHealth } from '../src/sync/health';
import type { MailGuardSettings } from '../src/sync/mail-guard';
import { syncMeetsHold, type SyncHold } from '../src/sync/portal-holds';
import { identitiesForClient, markApplied, noteUnconfirmedRefs, reportSyncErrors, saveIdentity, type PortalIdentity, type SyncErrorInput } from '../src/sync/ledger';
import { releaseLoginLeases, tryTakeLoginLeases } from '../src/sync/login-leases';
import type { SyncClientInput } from './caseware';
import { pendingRepairs, settleRepairs } from '../src/sync/repairs';
import { toActivityFailure } from './failures';
import { withHeartbeats } from './heartbeat';

/** The Client Online calls the sync needs; `ClientOnlineClient` provides them over HTTP. */
export interface ClientOnlinePort {
  pushClient(clientNumber: string, body: ClientOnlinePush, options?: { signal?: AbortSignal }): Promise<unknown>;
  deleteClient(clientNumber: string, options?: { signal?: AbortSignal }): Promise<boolean>;
  /** How long one request may take; a login's lease outlasts it by a grace period. */
  readonly requestTimeoutMs: number;
  /** How long one call may wait out rate limits before its request is answered (0 or absent: never). */
  readonly maxRateLimitWaitMs?: number;
  /** The same calls, each HTTP request counted (what a repair reports it wrote). */
  withCallCounter?(counter: PortalCallCounter): ClientOnlinePort;
}

export interface ClientOnlineActivityDeps {
  db: Db;
  clientOnline: ClientOnlinePort;
  sendBsn: boolean;
  /** The credentials-mail guard's threshold (src/sync/mail-guard.ts): ask `guardCredentialsMail` before a push creates a login. */
  credentialsMailGuard?: MailGuardSettings;
}

export interface ClientOnlineSyncSummary {
  client: 'pushed' | 'unchanged' | 'deleted' | 'absent' | 'held';
  users: number;
  syncErrors: number;
  /** Other clients pushed first, so a login this one lets go of is never left with no client. */
  handedOver?: string[];
  /** The sync met a hold and did not bring Client Online to the registry; it is not marked applied. */
  held?: SyncHold;
}

const portal = 'client_online' as const;

/**
 * How long a login's lease outlives the request timeout: a request we gave up on may still be
 * applied by the portal a little later, and another push of that login must not overtake it.
 */
const leaseGraceMs = 30_000;

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
function ledgerCopy(push: ClientOnlinePush): Omit<ClientOnlinePush, 'bsn'> & { bsnSent?: boolean } {
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
interface ClientOnlineReading {
  clientNumber: string;
  desired: DesiredClientOnlineState;
  identity: PortalIdentity | undefined;
  /** The logins a push or delete adds, keeps or removes: the desired push's and those Client Online may hold. */
  refs: Set<string>;
}

/**
 * Client Online holds, by the ledger, exactly the push the registry asks for this client: it
 * answered that push, and no push sent since is unanswered.
 */
function holdsItsPush({ desired, identity }: ClientOnlineReading): boolean {
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
function sentAsIs(reading: ClientOnlineReading): boolean {
  return reading.desired.push?.bsn == null && holdsItsPush(reading);
}

/** The registry asks Client Online to hold the client (not to delete it). */
function hasPush(reading: ClientOnlineReading): reading is ClientOnlineReading & { desired: { push: ClientOnlinePush } } {
  return reading.desired.push !== null;
}

/** The logins Client Online may hold under the client that its next push or delete takes away. */
function removedRefs({ desired, identity }: ClientOnlineReading): string[] {
  const kept = new Set(desired.push?.users.map((u) => u.ref) ?? []);
  return heldRefs(identity).filter((ref) => !kept.has(ref));
}

/**
 * A sync run in order: the clients to push first (each gives a login this run takes away from
 * another client somewhere to stay), then the client itself; and every login any of them touches.
 */
interface ClientOnlinePlan {
  handovers: ClientOnlineReading[];
  own: ClientOnlineReading;
  refs: Set<string>;
}

/** How deep a chain of hand-overs may go (each one a client whose own push takes a login away). */
const maxHandoverDepth = 4;

/** The registry clients whose push may carry a login: its own client and the companies of its followers. */
async function clientsThatMayCarry(db: Db, ref: string): Promise<string[]> {
  const id = Number(ref.slice(2));
  if (!Number.isSafeInteger(id)) return [];
  const ownClient = ref.startsWith('p-')
    ? db('clients').where({ id }).select('client_number')
    : db('contacts').join('clients', 'clients.id', 'contacts.client_id').where('contacts.id', id).select('clients.client_number');
  const followers = db('contacts').join('clients', 'clients.id', 'contacts.client_id')
    .where(ref.startsWith('p-') ? 'contacts.master_client_id' : 'contacts.master_contact_id', id)
    .select('clients.client_number');
  const rows = await ownClient.union(followers) as { client_number: string }[];
  return [...new Set(rows.map((row) => row.client_number))].sort();
}

/**
 * No answer from the service itself (a timeout, a dropped connection, a gateway that gave up on
 * it: 502, 504): the portal may still be applying the request. Any other answer, a refusal or a
 * 500 that says nothing was changed, ends the request there.
 */
function unanswered(error: unknown): boolean {
  if (!(error instanceof ClientOnlineError)) return false;
  return error.code === 'timeout' || error.code === 'network' || error.status === 502 || error.status === 504;
}

export function createClientOnlineActivities(deps: ClientOnlineActivityDeps) {
  const { db, clientOnline } = deps;
  // A call waits out 429s (answered at once) before the request that counts, which may take the
  // whole request timeout: the lease outlasts both.
  const leaseMs = (clientOnline.maxRateLimitWaitMs ?? 0) + clientOnline.requestTimeoutMs + leaseGraceMs;

  async function read(clientNumber: string): Promise<ClientOnlineReading> {
    const registry = await loadClientWithContacts(db, clientNumber).catch((error: unknown) => {
      if (isRegistryError(error) && error.code === 'not-found') {
        throw ApplicationFailure.nonRetryable(`client ${clientNumber} is not in the registry`, 'RegistryRecordMissing');
      }
      throw error;
    });
    const masters = await loadMasters(db, registry.contacts);
    const desired = desiredClientOnlineState(registry.client, registry.contacts, masters, { sendBsn: deps.sendBsn });
    const identity = (await identitiesForClient(db, portal, clientNumber)).find((i) => i.recordType === 'client');
    const refs = new Set([...(desired.push?.users.map((u) => u.ref) ?? []), ...heldRefs(identity)]);
    return { clientNumber, desired, identity, refs };
  }

  /**
   * Plans a sync run. Client Online deletes a login left with no client, and mails new credentials
   * when a later push brings it back. So when this client lets go of a login, another client the
   * registry gives that login to must hold it in Client Online first. One that does, by a ledger
   * that agrees with the registry (its last push is the push it should have), is enough; otherwise
   * each client that should hold it is pushed first (and, in turn, what its push lets go of). A
   * ledger copy that differs from the registry proves nothing: a push whose answer was lost, or a
   * change not yet synced, may stand between them.
   */
  async function plan(clientNumber: string): Promise<ClientOnlinePlan> {
    const handovers: ClientOnlineReading[] = [];
    const visited = new Set([clientNumber]);
    async function handOver(reading: ClientOnlineReading, depth: number): Promise<void> {
      if (depth >= maxHandoverDepth) return;
      for (const ref of removedRefs(reading)) {
        const waiting: ClientOnlineReading[] = [];
        let held = false;
        for (const other of await clientsThatMayCarry(db, ref)) {
          if (other === reading.clientNumber) continue;
          const theirs = await read(other).catch(() => undefined);
          if (!theirs?.desired.push?.users.some((user) => user.ref === ref)) continue;
          if (holdsItsPush(theirs)) {
            held = true;
            break;
          }
          waiting.push(theirs);
        }
        if (held) continue;
        for (const theirs of waiting) {
          if (visited.has(theirs.clientNumber)) continue;
          visited.add(theirs.clientNumber);
          await handOver(theirs, depth + 1);
          handovers.push(theirs);
        }
      }
    }
    const own = await read(clientNumber);
    await handOver(own, 0);
    const refs = new Set([...handovers.flatMap((h) => [...h.refs]), ...own.refs]);
    return { handovers, own, refs };
  }

  /** Waits (with a growing pause, heartbeats going on) until every lease is taken. */
  async function takeLeases(refs: ReadonlySet<string>, holder: string, signal: AbortSignal | undefined): Promise<void> {
    for (let attempt = 0; !(await tryTakeLoginLeases(db, [...refs], holder, leaseMs)); attempt += 1) {
      const pauseMs = Math.min(1_000, 20 * 2 ** attempt) * (0.5 + Math.random() / 2);
      await sleep(pauseMs, undefined, { signal });
    }
  }

  /**
   * Runs `work` holding a lease on every login the client's push or delete touches. One person's
   * login appears in the pushes of several clients (his own and each company where he is a
   * contact); two of those at once could make Client Online believe the login is new twice, and a
   * push that read the registry before another one landed would overwrite it with older values.
   * So the registry is read again once the leases are held (taking more if the logins changed),
   * and `work` gets that reading, with the clients to push first (see plan). The leases are given back once Client Online has answered; when
   * no answer came they are left to expire, since the portal may still be applying the request.
   */
  async function withLoginLeases<T>(
    clientNumber: string,
    signal: AbortSignal | undefined,
    work: (reading: ClientOnlinePlan) => Promise<T>,
  ): Promise<T> {
    const holder = randomUUID();
    let wanted = (await plan(clientNumber)).refs;
    let reading: ClientOnlinePlan;
    for (;;) {
      await takeLeases(wanted, holder, signal);
      reading = await plan(clientNumber);
      if ([...reading.refs].every((ref) => wanted.has(ref))) break;
      // More logins than leased: give all back and take the larger set at once, never piecemeal.
      await releaseLoginLeases(db, holder);
      wanted = new Set([...wanted, ...reading.refs]);
    }
    let answered = true;
    try {
      return await work(reading);
    } catch (error) {
      answered = !unanswered(error);
      throw error;
    } finally {
      if (answered) await releaseLoginLeases(db, holder);
    }
  }

  async function syncClient(input: SyncClientInput, signal: AbortSignal | undefined): Promise<ClientOnlineSyncSummary> {
    const { clientNumber } = input;
    const errors: SyncErrorInput[] = [];
    const summary: ClientOnlineSyncSummary = { client: 'absent', users: 0, syncErrors: 0 };
    const calls: PortalCallCounter = { reads: 0, writes: 0 };
    const portalCalls = clientOnline.withCallCounter?.(calls) ?? clientOnline;
    // What the reconcile found Client Online holding otherwise: the push is sent whatever the ledger says.
    const repairs = await pendingRepairs(db, portal, clientNumber);

    // A push is a full statement of the client: one the ledger says Client Online holds already is
    // not sent again (a BSN is never kept in the ledger, so a push that carries one always is).
    const unchanged = (reading: ClientOnlineReading) => repairs.drift.length === 0 && sentAsIs(reading);

    /**
     * Sends a client's push. Its logins are noted in the ledger before the request, since a push
     * whose answer is lost may have been applied; once Client Online answers, the push is recorded
     * as what it holds for the client.
     */
    async function send(reading: ClientOnlineReading & { desired: { push: ClientOnlinePush } }): Promise<void> {
      const { desired } = reading;
      const key = { portal, recordType: 'client', recordId: desired.clientId, clientNumber: reading.clientNumber } as const;
      await noteUnconfirmedRefs(db, key, desired.push.users.map((user) => user.ref));
      await portalCalls.pushClient(reading.clientNumber, desired.push, { signal });
      await saveIdentity(db, key, { remoteId: reading.clientNumber, lastSent: ledgerCopy(desired.push), access: 'active', unconfirmedRefs: null });
    }

    /**
     * Pushes a client ahead of this one, as its own sync would (which then finds it unchanged). A
     * refusal is left to that sync to report; this one goes on.
     */
    async function pushAhead(reading: ClientOnlineReading): Promise<void> {
      if (!hasPush(reading) || sentAsIs(reading)) return;
      try {
        await send(reading);
      } catch (error) {
        if (!(error instanceof ClientOnlineError) || error.retryable) throw error;
        return;
      }
      (summary.handedOver ??= []).push(reading.clientNumber);
    }

    await withLoginLeases(clientNumber, signal, async ({ handovers, own: reading }) => {
      for (const handover of handovers) await pushAhead(handover);
      const { desired, identity } = reading;
      errors.push(...desired.conflicts);
      const key = { portal, recordType: 'client', recordId: desired.clientId, clientNumber } as const;
      try {
        if (hasPush(reading) && unchanged(reading)) {
          summary.client = 'unchanged';
        } else if (hasPush(reading)) {
          await send(reading);
          summary.client = 'pushed';
          summary.users = reading.desired.push.users.length;
        } else if (identity?.access === 'active' || identity?.unconfirmedRefs || repairs.drift.some((d) => d.issue === 'extra')) {
          // Its logins lose access to it; Client Online deletes logins left with no client. One
          // the reconcile found there although it was removed before, or that an unanswered push
          // may have put back, is removed again.
          await portalCalls.deleteClient(clientNumber, { signal });
          // Erasure: nothing of what was sent is kept once the client is gone from Client Online.
          await saveIdentity(db, key, { access: 'revoked', lastSent: null, unconfirmedRefs: null });
          summary.client = 'deleted';
        }
      } catch (error) {
        if (!(error instanceof ClientOnlineError) || error.retryable) throw error;
        errors.push({
          recordType: 'client',
          recordId: desired.clientId,
          code: `client-online-${error.code}`,
          message:
            `client ${clientNumber}: ${error.message}` +
            (error.code === 'username-taken'
              ? '; a client user\'s email address is already the username of another Client Online login. Give the contact an address of its own, or link it to its master.'
              : ''),
        });
      }
    });

    await reportSyncErrors(db, portal, clientNumber, errors);
    await settleRepairs(db, repairs, { errors, writes: calls.writes });
    await markApplied(db, portal, input);
    summary.syncErrors = errors.length;
    return summary;
  }

  async function syncClientToClientOnline(input: SyncClientInput): Promise<ClientOnlineSyncSummary> {
    // An operator holds Client Online: nothing is pushed (nor handed over), the client waits for the release.
    if (await syncMeetsHold(db, portal, input.clientNumber)) return { client: 'held', users: 0, syncErrors: 0, held: 'portal' };
    try {
      return await trackPortalHealth(db, portal, () => withHeartbeats(({ signal }) => syncClient(input, signal)));
    } catch (error) {
      throw toActivityFailure(error);
    }
  }

  return { syncClientToClientOnline };
}

export type ClientOnlineActivities = ReturnType<typeof createClientOnlineActivities>;
