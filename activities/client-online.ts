import { ApplicationFailure } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../src/db';
import {
  contactRef,
  desiredClientOnlineState,
  type ClientOnlineLogin,
  type ClientOnlinePush,
  type ClientOnlineUser,
  type DesiredClientOnlineState,
} from '../src/domain/client-online';
import { correlateLogins, type ExistingLogin } from '../src/domain/login-adoption';
import type { CoClient } from '../src/portals/client-online/api';
import { ClientOnlineError } from '../src/portals/client-online/errors';
import type { PortalCallCounter } from '../src/portals/http';
import { getClient } from '../src/registry/clients';
import { getContact, loadClientWithContacts } from '../src/registry/contacts';
import { isRegistryError } from '../src/registry/errors';
import type { Client, Contact } from '../src/registry/schemas';
import { recordPortalHealthy, trackPortalFailures } from '../src/sync/health';
import {
  guardCredentialsMail,
  guardLoginRecreation,
  recreationsAwaiting,
  withdrawCredentialsMail,
  type CredentialsMailCreation,
  type MailGuardSettings,
} from '../src/sync/mail-guard';
import { isPortalHeld, syncMeetsHold, type SyncHold } from '../src/sync/portal-holds';
import { identitiesForClient, markApplied, noteUnconfirmedRefs, reportSyncErrors, saveIdentity, type PortalIdentity, type SyncErrorInput } from '../src/sync/ledger';
import { LedgerWrites } from '../src/sync/ledger-writes';
import { releaseLoginLeases, tryTakeLoginLeases } from '../src/sync/login-leases';
import {
  adoptedRefs,
  claimedRefs,
  directoryLogins,
  forgetCreatedLogins,
  keepUsers,
  keptUsers,
  loginsGone,
  personKeyOfRef,
  personLogins,
  recordPersonLogins,
  replaceDirectory,
} from '../src/sync/login-refs';
import type { SyncClientInput } from './caseware';
import { pendingRepairs, settleRepairs, type PendingRepairs, type SyncDid } from '../src/sync/repairs';
import { toActivityFailure } from './failures';
import { withHeartbeats } from './heartbeat';

/** The Client Online calls the sync needs; `ClientOnlineClient` provides them over HTTP. */
export interface ClientOnlinePort {
  pushClient(clientNumber: string, body: ClientOnlinePush, options?: { signal?: AbortSignal }): Promise<unknown>;
  deleteClient(clientNumber: string, options?: { signal?: AbortSignal }): Promise<boolean>;
  /** The client as Client Online holds it, or undefined: read before portal-sync first pushes a client. */
  getClient(clientNumber: string, options?: { signal?: AbortSignal }): Promise<CoClient | undefined>;
  /** Every client with its users: the bulk read that finds existing logins by username. */
  listClients(options?: { signal?: AbortSignal }): Promise<CoClient[]>;
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
  /** `adopted`: Client Online held the client before portal-sync first pushed it. */
  client: 'pushed' | 'adopted' | 'unchanged' | 'deleted' | 'absent' | 'held';
  users: number;
  syncErrors: number;
  /** Other clients pushed first, so a login this one lets go of is never left with no client. */
  handedOver?: string[];
  /** Persons met for the first time whose existing login was adopted (no mail). */
  loginsAdopted?: number;
  /** Persons met for the first time for whom Client Online created a login (and mailed credentials). */
  loginsCreated?: number;
  /** Logins Client Online no longer held (deleted there by hand) that the push made again, with a mail: approved, or the guard is off. */
  loginsRecreated?: number;
  /** New logins the credentials-mail guard held for approval: left out of the push, nobody mailed. */
  loginsHeld?: number;
  /** Users the client held that the registry does not give access to it, kept in its pushes. */
  usersKept?: number;
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
  /** The persons of the push portal-sync has never met: their logins are looked for before any is created. */
  unmet: ClientOnlineLogin[];
  /** Users kept in the push from before portal-sync's first push (src/sync/login-refs.ts). */
  kept: ClientOnlineUser[];
}

/** Portal-sync has not pushed this client before: Client Online may hold it from an earlier link. */
function firstPush({ identity }: ClientOnlineReading): boolean {
  return !identity || (identity.lastSent === null && identity.unconfirmedRefs === null);
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

/** A plan read under the leases touches logins not leased: the try gives its leases back. */
class LeasesGrew extends Error {
  constructor(readonly refs: Set<string>) {
    super('the plan touches more logins than leased');
  }
}

/** Persons of the push portal-sync has never met, or a client Client Online may hold from before: they are met before anything is leased. */
function mustMeet(reading: ClientOnlineReading): boolean {
  return reading.desired.push !== null && (reading.unmet.length > 0 || firstPush(reading));
}

/** What a sync run does for the client itself, decided under the leases (see prepare). */
type OwnAction = { action: 'none' } | { action: 'unchanged' } | { action: 'push'; recreated: number } | { action: 'delete' };

/** How deep a chain of hand-overs may go (each one a client whose own push takes a login away). */
const maxHandoverDepth = 4;

/** The registry clients whose push may carry a login: its person's own client and the companies of its followers. */
async function clientsThatMayCarry(db: Db, ref: string): Promise<string[]> {
  const key = await personKeyOfRef(db, ref);
  const id = Number(key.slice(2));
  if (!/^[pc]-/.test(key) || !Number.isSafeInteger(id)) return [];
  const ownClient = key.startsWith('p-')
    ? db('clients').where({ id }).select('client_number')
    : db('contacts').join('clients', 'clients.id', 'contacts.client_id').where('contacts.id', id).select('clients.client_number');
  const followers = db('contacts').join('clients', 'clients.id', 'contacts.client_id')
    .where(key.startsWith('p-') ? 'contacts.master_client_id' : 'contacts.master_contact_id', id)
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

/** A new login, as the credentials-mail guard counts it: by the person's record. */
function creationOf(clientNumber: string, login: ClientOnlineLogin): CredentialsMailCreation {
  return { clientNumber, recordType: login.recordType, recordId: login.recordId };
}

/** What a sync did, in the go-live preview's words. */
function clientOnlineDid(summary: ClientOnlineSyncSummary): SyncDid {
  const adoptedClient = summary.client === 'adopted' ? 1 : 0;
  const created = (summary.loginsCreated ?? 0) + (summary.loginsRecreated ?? 0);
  return {
    adopt: adoptedClient + (summary.loginsAdopted ?? 0),
    create: created,
    update: summary.client === 'pushed' ? 1 : 0,
    credentialsMails: created,
  };
}

export function createClientOnlineActivities(deps: ClientOnlineActivityDeps) {
  const { db, clientOnline } = deps;
  // A call waits out 429s (answered at once) before the request that counts, which may take the
  // whole request timeout: the lease outlasts both.
  const leaseMs = (clientOnline.maxRateLimitWaitMs ?? 0) + clientOnline.requestTimeoutMs + leaseGraceMs;

  /**
   * What one sync run reads of a client: in one snapshot and one commit, or, given a transaction,
   * inside it (a savepoint, so that a client that cannot be read leaves the transaction usable).
   */
  async function read(clientNumber: string, reader: Db = db): Promise<ClientOnlineReading> {
    return reader.transaction((trx) => readIn(trx, clientNumber), { isolationLevel: 'repeatable read', readOnly: true });
  }

  async function readIn(db: Db, clientNumber: string): Promise<ClientOnlineReading> {
    const registry = await loadClientWithContacts(db, clientNumber).catch((error: unknown) => {
      if (isRegistryError(error) && error.code === 'not-found') {
        throw ApplicationFailure.nonRetryable(`client ${clientNumber} is not in the registry`, 'RegistryRecordMissing');
      }
      throw error;
    });
    const masters = await loadMasters(db, registry.contacts);
    const byKey = desiredClientOnlineState(registry.client, registry.contacts, masters, { sendBsn: deps.sendBsn });
    const logins = await personLogins(db, byKey.logins.map((login) => login.personKey));
    const loginRefs = adoptedRefs(logins);
    const kept = byKey.push ? await keptUsers(db, clientNumber) : [];
    const desired =
      loginRefs.size === 0 && kept.length === 0
        ? byKey
        : desiredClientOnlineState(registry.client, registry.contacts, masters, { sendBsn: deps.sendBsn, loginRefs, keptUsers: kept });
    const identity = (await identitiesForClient(db, portal, clientNumber)).find((i) => i.recordType === 'client');
    const refs = new Set([...(desired.push?.users.map((u) => u.ref) ?? []), ...heldRefs(identity)]);
    const unmet = desired.logins.filter((login) => !logins.has(login.personKey));
    return { clientNumber, desired, identity, refs, unmet, kept };
  }

  /**
   * Meets the persons of the client's push that portal-sync has never met, before any push could
   * make Client Online create a login for them (and mail credentials): each one's existing login is
   * looked for by username among the client's users (on the client's first push, as Client Online
   * holds it; else the users kept from then), then among every login the last bulk read found
   * (correlateLogins). An existing login is adopted: the person's pushes carry its ref from now on.
   * On a client's first push, users Client Online holds there that the registry does not give
   * access to it are kept in its pushes, so going live removes nobody. Answers the conflicts that
   * stop the client's push (nothing of it is touched), and what it found.
   */
  async function meetPersons(
    reading: ClientOnlineReading,
    portalCalls: ClientOnlinePort,
    signal: AbortSignal | undefined,
  ): Promise<{ conflicts: SyncErrorInput[]; adopted: number; kept: number; clientHeld: boolean }> {
    const met = { conflicts: [] as SyncErrorInput[], adopted: 0, kept: 0, clientHeld: false };
    const { desired, clientNumber } = reading;
    const first = firstPush(reading);
    if (!desired.push || !mustMeet(reading)) return met;
    const held = first ? await portalCalls.getClient(clientNumber, { signal }) : undefined;
    met.clientHeld = held !== undefined;
    const clientUsers: ExistingLogin[] = (held?.users ?? reading.kept).map((user) => ({ ref: user.ref, email: user.email.trim().toLowerCase() }));
    const everywhere = await directoryLogins(db, reading.unmet.flatMap((login) => login.emails));
    const claimed = await claimedRefs(db, [...clientUsers, ...everywhere].map((login) => login.ref));
    const correlations = correlateLogins(reading.unmet, clientUsers, everywhere, claimed);
    const loginOf = new Map(reading.unmet.map((login) => [login.personKey, login]));
    const conflict = (personKey: string, code: string, message: string) => {
      const login = loginOf.get(personKey);
      if (login) met.conflicts.push({ recordType: login.recordType, recordId: login.recordId, code: `client-online-${code}`, message: `client ${clientNumber}: ${message}` });
    };
    const adoptions = correlations.flatMap((c) => (c.outcome === 'adopt' ? [{ personKey: c.personKey, ref: c.ref, origin: 'adopted' as const }] : []));
    for (const c of correlations) if (c.outcome === 'conflict') conflict(c.personKey, c.code, c.message);
    const { refused } = await recordPersonLogins(db, adoptions);
    for (const personKey of refused) {
      conflict(personKey, 'login-shared', 'its existing Client Online login was adopted for another registry person meanwhile; portal-sync touches neither and mails nobody');
    }
    met.adopted = adoptions.length - refused.length;
    if (held && met.conflicts.length === 0) {
      // Access the registry does not grant, which the client had before: kept, not removed.
      const adoptedRefs = new Set([...adoptions.map((a) => a.ref), ...desired.push.users.map((u) => u.ref)]);
      const foreign = held.users.filter((user) => !adoptedRefs.has(user.ref));
      await keepUsers(db, clientNumber, foreign.map(({ ref, firstName, infix, lastName, initials, email, mobile }) => ({ ref, firstName, infix, lastName, initials, email, mobile })));
      met.kept = foreign.length;
    }
    return met;
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
  async function plan(clientNumber: string, current?: ClientOnlineReading, reader: Db = db): Promise<ClientOnlinePlan> {
    const handovers: ClientOnlineReading[] = [];
    const visited = new Set([clientNumber]);
    async function handOver(reading: ClientOnlineReading, depth: number): Promise<void> {
      if (depth >= maxHandoverDepth) return;
      for (const ref of removedRefs(reading)) {
        const waiting: ClientOnlineReading[] = [];
        let held = false;
        for (const other of await clientsThatMayCarry(reader, ref)) {
          if (other === reading.clientNumber) continue;
          const theirs = await read(other, reader).catch(() => undefined);
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
    const own = current ?? (await read(clientNumber, reader));
    await handOver(own, 0);
    const refs = new Set([...handovers.flatMap((h) => [...h.refs]), ...own.refs]);
    return { handovers, own, refs };
  }

  /**
   * A sync run's three steps under the leases of the logins it touches: `prepare` decides, in the
   * transaction that takes the leases, what the run sends (and notes what must be in the ledger
   * before a request goes out); `perform` makes the calls; `close` records the outcome, in the
   * transaction that gives the leases back.
   */
  interface LeasedRun<D> {
    prepare: (trx: Db, plan: ClientOnlinePlan) => Promise<D>;
    perform: (plan: ClientOnlinePlan, decision: D) => Promise<void>;
    close: (trx: Db) => Promise<void>;
  }

  /** What one try to take the leases came to: the run's plan and decision, or why it must try again. */
  type LeaseAttempt<D> = { plan: ClientOnlinePlan; decision: D } | { busy: true } | { grew: Set<string> };

  /**
   * One try, inside `trx`: takes the leases on `wanted`, reads the registry again under them and
   * runs the run's `prepare`, all in a savepoint. A lease another sync holds, or a plan that under
   * the leases touches more logins than leased, leaves nothing behind. A lease taken here is
   * invisible to others until `trx` commits (another taker waits for it), so nothing the reading
   * depends on can change before the leases are seen.
   */
  async function leaseAttempt<D>(trx: Db, clientNumber: string, holder: string, wanted: Set<string>, prepare: LeasedRun<D>['prepare']): Promise<LeaseAttempt<D>> {
    try {
      return await trx.transaction(async (attempt): Promise<LeaseAttempt<D>> => {
        if (!(await tryTakeLoginLeases(attempt, [...wanted], holder, leaseMs))) return { busy: true };
        const leased = await plan(clientNumber, undefined, attempt);
        if (![...leased.refs].every((ref) => wanted.has(ref))) throw new LeasesGrew(new Set([...wanted, ...leased.refs]));
        return { plan: leased, decision: await prepare(attempt, leased) };
      });
    } catch (error) {
      if (error instanceof LeasesGrew) return { grew: error.refs };
      throw error;
    }
  }

  /**
   * Tries until the leases are taken and the run prepared (see leaseAttempt), each try in a
   * transaction of its own, starting from the try the sync's opening transaction made, if any: a
   * lease another sync holds makes it wait (with a growing pause, heartbeats going on); a plan that
   * touches more logins than leased takes the larger set at once, never piecemeal.
   */
  async function takeLeasesAndPrepare<D>(
    clientNumber: string,
    holder: string,
    signal: AbortSignal | undefined,
    prepare: LeasedRun<D>['prepare'],
    first: { wanted: Set<string>; outcome?: LeaseAttempt<D> },
  ): Promise<{ plan: ClientOnlinePlan; decision: D }> {
    let { wanted, outcome } = first;
    for (let attempt = 0; ; outcome = undefined) {
      outcome ??= await db.transaction((trx) => leaseAttempt(trx, clientNumber, holder, wanted, prepare));
      if ('plan' in outcome) return outcome;
      if ('grew' in outcome) {
        wanted = outcome.grew;
        continue;
      }
      const pauseMs = Math.min(1_000, 20 * 2 ** attempt) * (0.5 + Math.random() / 2);
      attempt += 1;
      await sleep(pauseMs, undefined, { signal });
    }
  }

  /**
   * Runs a sync holding a lease on every login the client's push or delete touches. One person's
   * login appears in the pushes of several clients (his own and each company where he is a
   * contact); two of those at once could make Client Online believe the login is new twice, and a
   * push that read the registry before another one landed would overwrite it with older values.
   * So the registry is read again once the leases are held, and the run gets that reading, with the
   * clients to push first (see plan). The leases are given back with the run's closing records once
   * Client Online has answered; when no answer came they are left to expire, since the portal may
   * still be applying the request. What Client Online confirmed before a failure is recorded then.
   */
  async function withLoginLeases<D>(
    clientNumber: string,
    signal: AbortSignal | undefined,
    holder: string,
    /** The logins to lease first, and the opening transaction's try, if it made one. */
    first: { wanted: Set<string>; outcome?: LeaseAttempt<D> },
    ledger: LedgerWrites,
    run: LeasedRun<D>,
  ): Promise<void> {
    const { plan: leased, decision } = await takeLeasesAndPrepare(clientNumber, holder, signal, run.prepare, first);
    try {
      await run.perform(leased, decision);
    } catch (error) {
      const answered = !unanswered(error);
      if (answered || ledger.waiting) {
        await db
          .transaction(async (trx) => {
            await ledger.flush(trx);
            if (answered) await releaseLoginLeases(trx, holder);
          })
          .catch(() => undefined);
      }
      throw error;
    }
    await db.transaction(async (trx) => {
      await ledger.flush(trx);
      await run.close(trx);
      await releaseLoginLeases(trx, holder);
    });
  }

  /**
   * Client Online refused a new login's username: a login with it may have been made since the
   * last bulk read (by hand, or by an earlier link). The directory is read again only when it lacks
   * one of these persons' addresses (a username that the directory holds already is another
   * person's login: as in everyday use, that costs no bulk read); true when one of these persons
   * now has a login there to adopt, so that the next attempt adopts it instead. Otherwise the
   * refusal stays what it is.
   */
  async function adoptableByUsername(unmet: readonly ClientOnlineLogin[]): Promise<boolean> {
    const addresses = unmet.flatMap((login) => login.emails.map((email) => email.trim().toLowerCase()));
    let everywhere = await directoryLogins(db, addresses);
    const known = new Set(everywhere.map((login) => login.email));
    if (addresses.some((address) => !known.has(address))) {
      await replaceDirectory(db, await clientOnline.listClients());
      everywhere = await directoryLogins(db, addresses);
    }
    const claimed = await claimedRefs(db, everywhere.map((login) => login.ref));
    return correlateLogins(unmet, [], everywhere, claimed).some((correlation) => correlation.outcome === 'adopt');
  }

  /**
   * The logins of persons portal-sync has met (it made or adopted their login) that this push would
   * make again, so that Client Online mails their persons new credentials: those Client Online no
   * longer holds where a reconcile repair asks for the push (a client or user deleted there by
   * hand; the run's bulk read says what it holds), and those whose making again waits for, or has
   * just had, an operator's approval.
   */
  async function recreations(reader: Db, reading: ClientOnlineReading, repairs: PendingRepairs): Promise<ClientOnlineLogin[]> {
    const unmet = new Set(reading.unmet.map((login) => login.personKey));
    const met = reading.desired.logins.filter((login) => !unmet.has(login.personKey));
    if (met.length === 0) return [];
    const gone = repairs.foundByRunAt ? await loginsGone(reader, met.map((login) => login.ref), repairs.foundByRunAt) : new Set<string>();
    const awaiting = await recreationsAwaiting(reader, portal, met);
    return met.filter((login) => gone.has(login.ref) || awaiting.has(`${login.recordType}:${login.recordId}`));
  }

  /** What a sync run found and decided before it leased anything: the context its steps share. */
  interface RunContext {
    repairs: PendingRepairs;
    met: Awaited<ReturnType<typeof meetPersons>>;
  }

  /**
   * A sync's opening transaction: whether an operator holds Client Online, the reconcile's repairs
   * and the client's reading; and, unless persons are to be met first (their logins are looked for
   * in Client Online before anything is leased), the first try to lease the logins and prepare the
   * run. In the common case that is the whole of the sync before its request, in one commit. Held:
   * the client is noted for the release, and the sync writes nothing.
   */
  async function openSync<D>(
    clientNumber: string,
    holder: string,
    context: RunContext,
    prepare: LeasedRun<D>['prepare'],
  ): Promise<'held' | { reading: ClientOnlineReading; lease?: { wanted: Set<string>; outcome: LeaseAttempt<D> } }> {
    const opening = await db.transaction(async (trx) => {
      if (await isPortalHeld(trx, portal)) return 'held' as const;
      context.repairs = await pendingRepairs(trx, portal, clientNumber);
      const reading = await read(clientNumber, trx);
      if (mustMeet(reading)) return { reading };
      const wanted = (await plan(clientNumber, reading, trx)).refs;
      return { reading, lease: { wanted, outcome: await leaseAttempt(trx, clientNumber, holder, wanted, prepare) } };
    });
    if (opening !== 'held') return opening;
    // Noted under the hold's lock; released meanwhile, the sync goes on.
    if (await syncMeetsHold(db, portal, clientNumber)) return 'held';
    return openSync(clientNumber, holder, context, prepare);
  }

  async function syncClient(input: SyncClientInput, signal: AbortSignal | undefined, ledger: LedgerWrites): Promise<ClientOnlineSyncSummary> {
    const { clientNumber } = input;
    // What the reconcile found Client Online holding otherwise (the push is sent whatever the
    // ledger says), and the persons met for the first time; both known before `prepare` runs.
    const context: RunContext = { repairs: { ids: [], drift: [], foundByRunAt: null }, met: { conflicts: [], adopted: 0, kept: 0, clientHeld: false } };
    const errors: SyncErrorInput[] = [];
    const summary: ClientOnlineSyncSummary = { client: 'absent', users: 0, syncErrors: 0 };
    const calls: PortalCallCounter = { reads: 0, writes: 0 };
    const portalCalls = clientOnline.withCallCounter?.(calls) ?? clientOnline;

    // A push is a full statement of the client: one the ledger says Client Online holds already is
    // not sent again (a BSN is never kept in the ledger, so a push that carries one always is).
    const unchanged = (reading: ClientOnlineReading) => context.repairs.drift.length === 0 && sentAsIs(reading);
    const identityKey = (reading: ClientOnlineReading) => ({ portal, recordType: 'client', recordId: reading.desired.clientId, clientNumber: reading.clientNumber }) as const;

    /**
     * Sends a client's push, whose logins the ledger has noted before (a push whose answer is lost
     * may have been applied); once Client Online answers, the push is recorded as what it holds for
     * the client.
     */
    async function send(reading: ClientOnlineReading & { desired: { push: ClientOnlinePush } }): Promise<void> {
      const { desired } = reading;
      await portalCalls.pushClient(reading.clientNumber, desired.push, { signal });
      const sent = ledgerCopy(desired.push);
      await ledger.record((writer) => saveIdentity(writer, identityKey(reading), { remoteId: reading.clientNumber, lastSent: sent, access: 'active', unconfirmedRefs: null }));
    }

    /**
     * Pushes a client ahead of this one, as its own sync would (which then finds it unchanged). A
     * refusal is left to that sync to report; this one goes on.
     */
    async function pushAhead(reading: ClientOnlineReading): Promise<void> {
      if (!hasPush(reading) || sentAsIs(reading)) return;
      // Persons never met, or a client Client Online may hold from before: its own sync meets them first.
      if (reading.unmet.length > 0 || firstPush(reading)) return;
      // A login whose making again waits for approval: its own sync leaves it out, and asks the guard.
      if ((await recreationsAwaiting(db, portal, reading.desired.logins)).size > 0) return;
      try {
        await noteUnconfirmedRefs(db, identityKey(reading), reading.desired.push.users.map((user) => user.ref));
        await send(reading);
      } catch (error) {
        if (!(error instanceof ClientOnlineError) || error.retryable) throw error;
        return;
      }
      (summary.handedOver ??= []).push(reading.clientNumber);
    }

    /**
     * What the run does for the client itself, decided under the leases and in their transaction:
     * the credentials-mail guard's answers, the persons whose login the push makes, and the logins
     * the push may leave under the client are recorded before any request goes out.
     */
    async function prepare(trx: Db, { own: reading }: ClientOnlinePlan): Promise<OwnAction> {
      const { desired, identity } = reading;
      const { repairs, met } = context;
      errors.push(...desired.conflicts);
      // Ambiguous logins: nothing of this client is touched, nobody is mailed, and the administrator is told.
      if (met.conflicts.length > 0) {
        errors.push(...met.conflicts);
        return { action: 'none' };
      }
      if (hasPush(reading) && unchanged(reading)) return { action: 'unchanged' };
      if (hasPush(reading)) {
        // Whoever is still unmet has no login: this push creates one, and Client Online mails
        // credentials. Beyond the guard's threshold a new login waits for approval, left out of
        // the push (it is no user of the client yet, so leaving it out takes nothing away).
        const withheld = new Set<string>();
        for (const login of reading.unmet) {
          if (!(await guardCredentialsMail(trx, portal, creationOf(clientNumber, login), deps.credentialsMailGuard)).allowed) withheld.add(login.personKey);
        }
        // A login Client Online lost (deleted there by hand) would be made again and mailed out
        // of the blue: held for approval whatever the count, and left out of the push likewise.
        let recreated = 0;
        const since = repairs.foundByRunAt ?? new Date();
        for (const login of await recreations(trx, reading, repairs)) {
          const decision = await guardLoginRecreation(trx, portal, creationOf(clientNumber, login), { since, settings: deps.credentialsMailGuard });
          if (decision.allowed) recreated += 1;
          else withheld.add(login.personKey);
        }
        if (withheld.size > 0) {
          const refs = new Set(reading.desired.logins.filter((login) => withheld.has(login.personKey)).map((login) => login.ref));
          reading.desired.push.users = reading.desired.push.users.filter((user) => !refs.has(user.ref));
          reading.unmet = reading.unmet.filter((login) => !withheld.has(login.personKey));
          summary.held = 'credentials-mails';
          summary.loginsHeld = withheld.size;
        }
        // Recorded first: a push whose answer is lost may have created them.
        await recordPersonLogins(trx, reading.unmet.map((login) => ({ personKey: login.personKey, ref: login.ref, origin: 'created' as const })));
        await noteUnconfirmedRefs(trx, identityKey(reading), reading.desired.push.users.map((user) => user.ref));
        return { action: 'push', recreated };
      }
      // Its logins lose access to it; Client Online deletes logins left with no client. One the
      // reconcile found there although it was removed before, or that an unanswered push may have
      // put back, is removed again.
      if (identity?.access === 'active' || identity?.unconfirmedRefs || repairs.drift.some((d) => d.issue === 'extra')) return { action: 'delete' };
      return { action: 'none' };
    }

    /** The calls: the clients to push first, then the client's own push or delete. */
    async function perform({ handovers, own: reading }: ClientOnlinePlan, own: OwnAction): Promise<void> {
      const { met } = context;
      if (own.action === 'none' && met.conflicts.length > 0) return;
      for (const handover of handovers) await pushAhead(handover);
      try {
        if (own.action === 'unchanged') {
          summary.client = 'unchanged';
        } else if (own.action === 'push' && hasPush(reading)) {
          await send(reading);
          if (reading.unmet.length > 0) summary.loginsCreated = reading.unmet.length;
          if (own.recreated > 0) summary.loginsRecreated = own.recreated;
          summary.client = met.clientHeld ? 'adopted' : 'pushed';
          summary.users = reading.desired.push.users.length;
        } else if (own.action === 'delete') {
          await portalCalls.deleteClient(clientNumber, { signal });
          // Erasure: nothing of what was sent is kept once the client is gone from Client Online.
          await ledger.record((writer) => saveIdentity(writer, identityKey(reading), { access: 'revoked', lastSent: null, unconfirmedRefs: null }));
          summary.client = 'deleted';
        }
      } catch (error) {
        // Answered, and refused: no login was created, and nobody was mailed.
        if (error instanceof ClientOnlineError && !unanswered(error)) {
          await forgetCreatedLogins(db, reading.unmet.map((login) => login.personKey));
          for (const login of reading.unmet) await withdrawCredentialsMail(db, portal, creationOf(clientNumber, login));
        }
        if (!(error instanceof ClientOnlineError) || error.retryable) throw error;
        if (error.code === 'username-taken' && reading.unmet.length > 0 && (await adoptableByUsername(reading.unmet))) {
          throw ApplicationFailure.retryable(
            `client ${clientNumber}: a person met for the first time has a Client Online login already (made since the last bulk read); it is adopted on the next attempt`,
            'ClientOnline:login-found',
          );
        }
        errors.push({
          recordType: 'client',
          recordId: reading.desired.clientId,
          code: `client-online-${error.code}`,
          message:
            `client ${clientNumber}: ${error.message}` +
            (error.code === 'username-taken'
              ? '; a client user\'s email address is already the username of another Client Online login. Give the contact an address of its own, or link it to its master.'
              : ''),
        });
      }
    }

    /**
     * The transaction that ends the sync (with the leases given back): its sync errors, the repairs
     * it settled, the changes it applied and the portal's health. A login whose creation waits for
     * approval has not reached Client Online: the client stays pending until the approval's event
     * syncs it again.
     */
    async function close(trx: Db): Promise<void> {
      await reportSyncErrors(trx, portal, clientNumber, errors);
      await settleRepairs(trx, context.repairs, { errors, writes: calls.writes, did: clientOnlineDid(summary), heldLogins: summary.loginsHeld ?? 0 });
      if (summary.held !== 'credentials-mails') await markApplied(trx, portal, input);
      await recordPortalHealthy(trx, portal);
    }

    const holder = randomUUID();
    const opening = await openSync(clientNumber, holder, context, prepare);
    // An operator holds Client Online: nothing is pushed (nor handed over), the client waits for the release.
    if (opening === 'held') return { client: 'held', users: 0, syncErrors: 0, held: 'portal' };
    /**
     * Persons met for the first time: their existing logins are found before anything is pushed,
     * and the plan is read again after what the meeting recorded.
     */
    const meetFirst = async (reading: ClientOnlineReading) => {
      context.met = await meetPersons(reading, portalCalls, signal);
      if (context.met.adopted > 0) summary.loginsAdopted = context.met.adopted;
      if (context.met.kept > 0) summary.usersKept = context.met.kept;
      return { wanted: (await plan(clientNumber)).refs };
    };
    const lease = opening.lease ?? (await meetFirst(opening.reading));
    await withLoginLeases(clientNumber, signal, holder, lease, ledger, { prepare, perform, close });
    summary.syncErrors = errors.length;
    return summary;
  }

  async function syncClientToClientOnline(input: SyncClientInput): Promise<ClientOnlineSyncSummary> {
    try {
      return await trackPortalFailures(db, portal, () =>
        withHeartbeats(({ signal, resumable }) => syncClient(input, signal, new LedgerWrites(db, !resumable))),
      );
    } catch (error) {
      throw toActivityFailure(error);
    }
  }

  return { syncClientToClientOnline };
}

export type ClientOnlineActivities = ReturnType<typeof createClientOnlineActivities>;
