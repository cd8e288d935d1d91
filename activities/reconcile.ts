import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../src/db';
import { desiredCaseWareState } from '../src/domain/caseware';
import { contactRef, desiredClientOnlineState, personClientRef, type ClientOnlineMasters, type ClientOnlineUser } from '../src/domain/client-online';
import {
  caseWareDrift,
  caseWareOrphans,
  clientOnlineDrift,
  clientOnlineOrphans,
  shareKey,
  type CaseWareSnapshot,
  type ClientOnlineSnapshot,
  type Drift,
  type LedgerView,
  type Orphan,
} from '../src/domain/drift';
import type { CwEntity, CwUser } from '../src/portals/caseware/api';
import type { ExistingLogin } from '../src/domain/login-adoption';
import { caseWareOutlook, clientOnlineOutlook, countOutlook, type OutlookCounts, type OutlookItem } from '../src/domain/outlook';
import type { CoClient } from '../src/portals/client-online/api';
import { loadClientsPage, loadMasters } from '../src/registry/bulk-reads';
import type { Client, Contact } from '../src/registry/schemas';
import type { Portal } from '../src/sync/ledger';
import { adoptedRefs, keptUsersOf, personLogins, replaceDirectory } from '../src/sync/login-refs';
import type { PortalReconcileCounts, PortalReconcileReport, ReconcilePortal, ReconcileReport } from '../src/registry/reconcile-runs';
import type { PortalCallCounter } from '../src/portals/http';
import { toActivityFailure } from './failures';
import { withHeartbeats } from './heartbeat';

/**
 * The reconcile: per portal, one activity reads everything the portal holds in bulk (its list
 * calls, paged), walks the registry in batches, and compares every client's desired state with
 * what the portal really holds. Where they differ it records the drift (record ids and field
 * names) and appends a `client.reconcile` event in one transaction: the client's own workflow then
 * repairs it through the same sync every change takes (src/sync/repairs.ts), one sync at a time
 * per client, so a repair never races a change. Orphans are reported, never deleted.
 */

/** The bulk reads the reconcile needs from CaseWare Cloud; `CaseWareClient` provides them. */
export interface CaseWareBulkPort {
  listEntities(): Promise<CwEntity[]>;
  listContactUsers(): Promise<CwUser[]>;
  listAllRoleAssignments(): Promise<{ entityId: string; userId: string; roleId: string }[]>;
  listRoles(): Promise<{ CWGuid: string; Name: string }[]>;
  listGroups(): Promise<{ CWGuid: string; Name: string }[]>;
  listGroupMembers(groupGuid: string): Promise<string[]>;
  /** A view that counts every HTTP request it makes. */
  withCallCounter(counter: PortalCallCounter): CaseWareBulkPort;
}

export interface ClientOnlineBulkPort {
  listClients(): Promise<CoClient[]>;
  withCallCounter(counter: PortalCallCounter): ClientOnlineBulkPort;
}

export interface ReconcileActivityDeps {
  db: Db;
  caseware: CaseWareBulkPort;
  clientOnline: ClientOnlineBulkPort;
  contactRoleName: string;
  contactGroupName?: string;
  sendBsn: boolean;
  /** Clients compared per batch (and per transaction that records their drift). */
  batchSize?: number;
}

const ledgerName: Record<ReconcilePortal, Portal> = { caseware: 'caseware', clientOnline: 'client_online' };

export interface ReconcilePortalInput {
  runId: number;
  portal: ReconcilePortal;
  dryRun: boolean;
}

/** One batch's clients with what the ledger and the error list say of them at this portal. */
export interface Batch {
  clients: { client: Client; contacts: Contact[] }[];
  ledger: Map<string, LedgerView[]>;
  /** Per client number, the record ids with an open sync error. */
  withErrors: Map<string, Set<number>>;
  /** Per client number, whether an open error is the portal refusing the client's push. */
  refused: Set<string>;
  /** Client Online: the persons met (created or adopted), the refs of adopted logins by person key, and the users kept per client. */
  met: Set<string>;
  loginRefs: Map<string, string>;
  kept: Map<string, ClientOnlineUser[]>;
}

/** How a portal takes part in the reconcile: read in bulk, compare one client, name orphans. */
export interface ReconcileAdapter<Snapshot> {
  read(counter: PortalCallCounter): Promise<Snapshot>;
  drift(entry: { client: Client; contacts: Contact[] }, batch: Batch, snapshot: Snapshot, masters: ClientOnlineMasters): Drift[];
  /** Whether the portal holds, or should hold, anything of this client. */
  concerns(entry: { client: Client; contacts: Contact[] }, batch: Batch): boolean;
  orphans(snapshot: Snapshot, known: KnownRecords): Orphan[];
  /** What the next syncs of the client would do here (the go-live preview, src/domain/outlook.ts). */
  outlook(entry: { client: Client; contacts: Contact[] }, batch: Batch, snapshot: Snapshot, masters: ClientOnlineMasters, run: RunLookups): OutlookItem[];
}

/** What the outlook needs of the whole ledger, read once per run. */
export interface RunLookups {
  /** CaseWare: contact users the ledger gives to a contact, by CWGuid → that contact's id. */
  userHolders: Map<string, number>;
  /** Client Online: refs persons' logins have, ref → person key. */
  claimed: Map<string, string>;
  /** Client Online: persons whose login an outlook item of this run counts already. */
  seenPersons: Set<string>;
}

export interface KnownRecords {
  remoteIds: Set<string>;
  sentClientNumbers: Set<string>;
  registryClientNumbers: Set<string>;
  /** Client Online users kept from before go-live. */
  keptUsers: { clientNumber: string; ref: string }[];
}

function doneOf(row: { adopt: string; create: string; update: string; mails: string } | undefined): PortalReconcileReport['done'] {
  return { adopt: Number(row?.adopt ?? 0), create: Number(row?.create ?? 0), update: Number(row?.update ?? 0), credentialsMails: Number(row?.mails ?? 0) };
}

function addCounts(a: OutlookCounts, b: OutlookCounts): OutlookCounts {
  return {
    adopt: a.adopt + b.adopt,
    create: a.create + b.create,
    update: a.update + b.update,
    keep: a.keep + b.keep,
    conflicts: a.conflicts + b.conflicts,
    credentialsMails: a.credentialsMails + b.credentialsMails,
  };
}

const contactUsersByEmail = new WeakMap<CaseWareSnapshot, Map<string, CwUser>>();
/** CaseWare's contact users by email (lower case), from one bulk read. */
function usersByEmail(snapshot: CaseWareSnapshot): Map<string, CwUser> {
  let byEmail = contactUsersByEmail.get(snapshot);
  if (!byEmail) {
    byEmail = new Map([...snapshot.usersByGuid.values()].map((user) => [user.Email.trim().toLowerCase(), user]));
    contactUsersByEmail.set(snapshot, byEmail);
  }
  return byEmail;
}

const loginsOfSnapshot = new WeakMap<ClientOnlineSnapshot, Map<string, ExistingLogin>>();
/** Every login Client Online holds, by ref, from one bulk read. */
function loginsByRef(snapshot: ClientOnlineSnapshot): Map<string, ExistingLogin> {
  let logins = loginsOfSnapshot.get(snapshot);
  if (!logins) {
    logins = new Map();
    for (const client of snapshot.clientsByNumber.values()) for (const user of client.users) logins.set(user.ref, { ref: user.ref, email: user.email.trim().toLowerCase() });
    loginsOfSnapshot.set(snapshot, logins);
  }
  return logins;
}

export function createReconcileActivities(deps: ReconcileActivityDeps) {
  const { db } = deps;
  const batchSize = deps.batchSize ?? 500;

  const caseware: ReconcileAdapter<CaseWareSnapshot> = {
    async read(counter) {
      const port = deps.caseware.withCallCounter(counter);
      const [entities, users, assignments, roles, groups] = await Promise.all([
        port.listEntities(),
        port.listContactUsers(),
        port.listAllRoleAssignments(),
        port.listRoles(),
        deps.contactGroupName ? port.listGroups() : Promise.resolve([]),
      ]);
      const role = roles.find((r) => r.Name === deps.contactRoleName);
      if (!role) {
        throw ApplicationFailure.nonRetryable(
          `CaseWare Cloud has no role named "${deps.contactRoleName}"; set CASEWARE_CONTACT_ROLE to an existing contact role`,
          'ConfigurationError',
        );
      }
      const group = deps.contactGroupName ? groups.find((g) => g.Name === deps.contactGroupName) : undefined;
      if (deps.contactGroupName && !group) {
        throw ApplicationFailure.nonRetryable(
          `CaseWare Cloud has no contact group named "${deps.contactGroupName}"; create it or unset CASEWARE_CONTACT_GROUP`,
          'ConfigurationError',
        );
      }
      return {
        entitiesByGuid: new Map(entities.map((e) => [e.CWGuid, e])),
        entitiesByNumber: new Map(entities.map((e) => [e.EntityNo, e])),
        usersByGuid: new Map(users.map((u) => [u.CWGuid, u])),
        shares: new Set(assignments.map((a) => shareKey(a.entityId, a.userId, a.roleId))),
        roleId: role.CWGuid,
        groupMembers: group ? new Set(await port.listGroupMembers(group.CWGuid)) : undefined,
      };
    },
    drift({ client, contacts }, batch, snapshot) {
      const desired = desiredCaseWareState(client, contacts);
      return caseWareDrift(desired, batch.ledger.get(client.clientNumber) ?? [], snapshot, batch.withErrors.get(client.clientNumber));
    },
    concerns({ client, contacts }, batch) {
      return desiredCaseWareState(client, contacts).entity !== null || (batch.ledger.get(client.clientNumber) ?? []).length > 0;
    },
    orphans: (snapshot, known) => caseWareOrphans(snapshot, known),
    outlook({ client, contacts }, batch, snapshot, _masters, run) {
      const heldByOthers = (contactId: number, userGuid: string) => {
        const holder = run.userHolders.get(userGuid);
        return holder !== undefined && holder !== contactId;
      };
      return caseWareOutlook(desiredCaseWareState(client, contacts), batch.ledger.get(client.clientNumber) ?? [], snapshot, usersByEmail(snapshot), heldByOthers);
    },
  };

  const clientOnline: ReconcileAdapter<ClientOnlineSnapshot> = {
    async read(counter) {
      const clients = await deps.clientOnline.withCallCounter(counter).listClients();
      // The logins by username, for the syncs that meet a person for the first time (src/sync/login-refs.ts).
      await replaceDirectory(db, clients);
      return { clientsByNumber: new Map(clients.map((c) => [c.clientNumber, c])) };
    },
    drift({ client, contacts }, batch, snapshot, masters) {
      const desired = desiredClientOnlineState(client, contacts, masters, {
        sendBsn: deps.sendBsn,
        loginRefs: batch.loginRefs,
        keptUsers: batch.kept.get(client.clientNumber),
      });
      const sent = (batch.ledger.get(client.clientNumber) ?? []).some((i) => i.recordType === 'client');
      return clientOnlineDrift(desired, sent, snapshot, batch.refused.has(client.clientNumber));
    },
    concerns({ client }, batch) {
      return client.links.clientOnline || (batch.ledger.get(client.clientNumber) ?? []).length > 0;
    },
    orphans: (snapshot, known) => clientOnlineOrphans(snapshot, known),
    outlook({ client, contacts }, batch, snapshot, masters, run) {
      const desired = desiredClientOnlineState(client, contacts, masters, {
        sendBsn: deps.sendBsn,
        loginRefs: batch.loginRefs,
        keptUsers: batch.kept.get(client.clientNumber),
      });
      const sent = (batch.ledger.get(client.clientNumber) ?? []).some((identity) => identity.recordType === 'client' && identity.sent);
      return clientOnlineOutlook(desired, sent, batch.met, snapshot, loginsByRef(snapshot), run.claimed);
    },
  };

  const adapters = { caseware, clientOnline } as Record<ReconcilePortal, ReconcileAdapter<unknown>>;

  async function loadBatch(portal: Portal, clients: Batch['clients']): Promise<Batch> {
    const numbers = clients.map((entry) => entry.client.clientNumber);
    const identities = await db('portal_identities')
      .where({ portal })
      .whereIn('client_number', numbers)
      .select<{ client_number: string; record_type: 'client' | 'contact'; record_id: number; remote_id: string | null; access: 'active' | 'revoked'; sent: boolean }[]>(
        'client_number',
        'record_type',
        'record_id',
        'remote_id',
        'access',
        db.raw('(last_sent is not null or unconfirmed_refs is not null) as sent'),
      );
    const ledger = new Map<string, LedgerView[]>();
    for (const row of identities) {
      const view: LedgerView = { recordType: row.record_type, recordId: row.record_id, remoteId: row.remote_id, access: row.access, sent: row.sent };
      ledger.set(row.client_number, [...(ledger.get(row.client_number) ?? []), view]);
    }
    const errors = await db('sync_errors')
      .where({ portal })
      .whereIn('client_number', numbers)
      .whereNull('resolved_at')
      .select<{ client_number: string; record_type: string; record_id: number; code: string }[]>('client_number', 'record_type', 'record_id', 'code');
    const withErrors = new Map<string, Set<number>>();
    const refused = new Set<string>();
    for (const row of errors) {
      withErrors.set(row.client_number, (withErrors.get(row.client_number) ?? new Set()).add(row.record_id));
      // Client Online refused the client's push, or the sync did not send it (an ambiguous login).
      if (row.code.startsWith('client-online-')) refused.add(row.client_number);
    }
    if (portal !== 'client_online') return { clients, ledger, withErrors, refused, met: new Set(), loginRefs: new Map(), kept: new Map() };
    const personKeys = clients.flatMap(({ client, contacts }) => [
      ...(client.kind === 'person' ? [personClientRef(client)] : []),
      ...contacts.map((contact) => contactRef(contact)),
    ]);
    const logins = await personLogins(db, personKeys);
    return { clients, ledger, withErrors, refused, met: new Set(logins.keys()), loginRefs: adoptedRefs(logins), kept: await keptUsersOf(db, numbers) };
  }

  /** The masters a batch's followers follow, by login ref (Client Online carries the master's login). */
  async function mastersOf(clients: Batch['clients']): Promise<ClientOnlineMasters> {
    const contacts = clients.flatMap((entry) => entry.contacts);
    const loaded = await loadMasters(db, {
      clientIds: [...new Set(contacts.flatMap((c) => (c.masterClientId === null ? [] : [c.masterClientId])))],
      contactIds: [...new Set(contacts.flatMap((c) => (c.masterContactId === null ? [] : [c.masterContactId])))],
    });
    const masters = new Map<string, Client | Contact>();
    for (const client of loaded.clients) masters.set(`p-${client.id}`, client);
    for (const contact of loaded.contacts) masters.set(`c-${contact.id}`, contact);
    for (const contact of contacts) {
      const ref = contactRef(contact);
      if (ref !== `c-${contact.id}` && !masters.has(ref)) throw new Error(`contact ${contact.id} follows ${ref}, which is not in the registry`);
    }
    return masters;
  }

  /** Records a batch's drift: repairs and their events in one transaction (a dry run: notes only). */
  async function recordDrift(runId: number, portal: Portal, dryRun: boolean, drifted: { client: Client; drift: Drift[] }[]): Promise<void> {
    if (drifted.length === 0) return;
    await db.transaction(async (trx) => {
      const inserted = await trx('reconcile_repairs')
        .insert(
          drifted.map(({ client, drift }) => ({
            run_id: runId,
            portal,
            client_number: client.clientNumber,
            drift: JSON.stringify(drift),
            status: dryRun ? 'dry-run' : 'pending',
          })),
        )
        .onConflict(['run_id', 'portal', 'client_number'])
        .ignore()
        .returning<{ client_number: string }[]>('client_number');
      if (dryRun || inserted.length === 0) return;
      const fresh = new Set(inserted.map((row) => row.client_number));
      await trx('outbox_events').insert(
        drifted
          .filter(({ client }) => fresh.has(client.clientNumber))
          .map(({ client }) => ({ client_number: client.clientNumber, kind: 'client.reconcile', record_type: 'client', record_id: client.id })),
      );
    });
  }

  interface Progress {
    afterId: number;
    counts: Omit<PortalReconcileCounts, 'portal' | 'orphans' | 'reads'>;
  }

  /** Records what the next syncs of a batch's clients would do at the portal (each item once per run). */
  async function recordOutlook(runId: number, portal: Portal, outlooks: { client: Client; items: OutlookItem[] }[]): Promise<void> {
    const rows = outlooks.flatMap(({ client, items }) =>
      items.map((item) => ({
        run_id: runId,
        portal,
        client_number: client.clientNumber,
        action: item.action,
        object: item.object,
        record_type: item.recordType,
        record_id: item.recordId,
        credentials_mails: item.credentialsMails,
        detail: item.detail ?? null,
      })),
    );
    // A retried attempt redoes the batch it was in: its rows are written again, once.
    const numbers = outlooks.map(({ client }) => client.clientNumber);
    await db.transaction(async (trx) => {
      if (numbers.length > 0) await trx('reconcile_outlook').where({ run_id: runId, portal }).whereIn('client_number', numbers).delete();
      for (let i = 0; i < rows.length; i += 1000) await trx('reconcile_outlook').insert(rows.slice(i, i + 1000));
    });
  }

  async function runLookups(portal: Portal): Promise<RunLookups> {
    if (portal === 'caseware') {
      const rows = await db('portal_identities')
        .where({ portal, record_type: 'contact', access: 'active' })
        .whereNotNull('remote_id')
        .select<{ remote_id: string; record_id: number }[]>('remote_id', 'record_id');
      return { userHolders: new Map(rows.map((row) => [row.remote_id, Number(row.record_id)])), claimed: new Map(), seenPersons: new Set() };
    }
    const rows = await db('client_online_logins').select<{ person_key: string; ref: string }[]>('person_key', 'ref');
    return { userHolders: new Map(), claimed: new Map(rows.map((row) => [row.ref, row.person_key])), seenPersons: new Set() };
  }

  async function reconcilePortal(input: ReconcilePortalInput): Promise<PortalReconcileCounts> {
    const portal = ledgerName[input.portal];
    const adapter = adapters[input.portal];
    return withHeartbeats<Progress, PortalReconcileCounts>(async (progress) => {
      const counter: PortalCallCounter = { reads: 0, writes: 0 };
      const snapshot = await adapter.read(counter);
      const lookups = await runLookups(portal);
      // A retry reads the portal again (it may have changed) and goes on after the last batch done.
      let { afterId, counts } = progress.resumeFrom ?? { afterId: 0, counts: { checked: 0, inSync: 0, drifted: 0, knownErrors: 0, outlook: countOutlook([]) } };
      for (;;) {
        const clients = await loadClientsPage(db, afterId, batchSize);
        if (clients.length === 0) break;
        const batch = await loadBatch(portal, clients);
        const masters = input.portal === 'clientOnline' ? await mastersOf(clients) : new Map();
        const drifted: { client: Client; drift: Drift[] }[] = [];
        const outlooks: { client: Client; items: OutlookItem[] }[] = [];
        for (const entry of clients) {
          if (!adapter.concerns(entry, batch)) continue;
          counts = { ...counts, checked: counts.checked + 1 };
          // A person at several clients has one login: counted at the first client only.
          const items = adapter.outlook(entry, batch, snapshot, masters, lookups).filter((item) => {
            if (item.personKey === undefined) return true;
            if (lookups.seenPersons.has(item.personKey)) return false;
            lookups.seenPersons.add(item.personKey);
            return true;
          });
          if (items.length > 0) {
            outlooks.push({ client: entry.client, items });
            counts = { ...counts, outlook: addCounts(counts.outlook, countOutlook(items)) };
          }
          const drift = adapter.drift(entry, batch, snapshot, masters);
          if (drift.length > 0) drifted.push({ client: entry.client, drift });
          else if (batch.withErrors.has(entry.client.clientNumber)) counts = { ...counts, knownErrors: counts.knownErrors + 1 };
          else counts = { ...counts, inSync: counts.inSync + 1 };
        }
        await recordDrift(input.runId, portal, input.dryRun, drifted);
        await recordOutlook(input.runId, portal, outlooks);
        counts = { ...counts, drifted: counts.drifted + drifted.length };
        afterId = clients[clients.length - 1]!.client.id;
        progress.report({ afterId, counts });
      }

      const orphans = adapter.orphans(snapshot, await knownRecords(portal));
      for (let i = 0; i < orphans.length; i += 1000) {
        await db('reconcile_orphans')
          .insert(orphans.slice(i, i + 1000).map((o) => ({ run_id: input.runId, portal, kind: o.kind, remote_id: o.remoteId, reason: o.reason })))
          .onConflict(['run_id', 'portal', 'kind', 'remote_id'])
          .ignore();
      }
      return { portal: input.portal, ...counts, orphans: orphans.length, reads: counter.reads };
    }).catch((error: unknown) => {
      throw toActivityFailure(error);
    });
  }

  async function knownRecords(portal: Portal): Promise<KnownRecords> {
    const identities = await db('portal_identities').where({ portal }).select<{ client_number: string; record_type: string; remote_id: string | null }[]>(
      'client_number',
      'record_type',
      'remote_id',
    );
    const clients = await db('clients').select<{ client_number: string }[]>('client_number');
    const kept = portal === 'client_online' ? await db('client_online_kept_users').orderBy(['client_number', 'ref']).select<{ client_number: string; ref: string }[]>('client_number', 'ref') : [];
    return {
      remoteIds: new Set(identities.flatMap((i) => (i.remote_id ? [i.remote_id] : []))),
      sentClientNumbers: new Set(identities.filter((i) => i.record_type === 'client').map((i) => i.client_number)),
      registryClientNumbers: new Set(clients.map((c) => c.client_number)),
      keptUsers: kept.map((row) => ({ clientNumber: row.client_number, ref: row.ref })),
    };
  }

  /**
   * The run's record; made here for a scheduled run, by the API for one it starts. Idempotent per
   * workflow. Looked up before inserting: an `insert ... on conflict` takes a number from the id
   * sequence even when the row exists, so every run the API made its record for skipped an id.
   */
  async function startReconcileRun(input: { trigger: 'schedule' | 'api'; dryRun: boolean }): Promise<{ runId: number }> {
    const workflowId = Context.current().info.workflowExecution?.workflowId ?? 'outside-a-workflow';
    const existing = () => db('reconcile_runs').where({ workflow_id: workflowId }).first<{ id: string } | undefined>('id');
    const found = await existing();
    if (found) return { runId: Number(found.id) };
    const [row] = await db('reconcile_runs')
      .insert({ workflow_id: workflowId, trigger: input.trigger, dry_run: input.dryRun })
      .onConflict('workflow_id')
      .ignore()
      .returning<{ id: string }[]>('id');
    // Another attempt of this activity inserted it meanwhile (one whose answer was lost).
    const run = row ?? (await existing());
    if (!run) throw new Error(`the reconcile run of workflow ${workflowId} vanished while it was being recorded`);
    return { runId: Number(run.id) };
  }

  /** Waits (heartbeating) until every repair the run asked for is settled, or `timeoutMs` passed. */
  async function awaitRepairs(input: { runId: number; timeoutMs: number }): Promise<{ pending: number }> {
    return withHeartbeats(async ({ signal }) => {
      const until = Date.now() + input.timeoutMs;
      for (;;) {
        const [row] = await db('reconcile_repairs').where({ run_id: input.runId, status: 'pending' }).count<{ count: string }[]>({ count: '*' });
        const pending = Number(row?.count ?? 0);
        if (pending === 0 || Date.now() >= until) return { pending };
        await sleep(500, undefined, { signal });
      }
    });
  }

  /** Writes the run's report from the counts and the settled repairs; the report is the workflow's result too. */
  async function finishReconcileRun(input: { runId: number; portals: PortalReconcileCounts[]; failure?: string }): Promise<ReconcileReport> {
    const repairs = await db('reconcile_repairs')
      .where({ run_id: input.runId })
      .groupBy('portal', 'status')
      .select<{ portal: Portal; status: string; clients: string; writes: string }[]>('portal', 'status', db.raw('count(*) as clients'), db.raw('sum(writes) as writes'));
    // What the repairs' syncs did, in the preview's words.
    const did = await db('reconcile_repairs')
      .where({ run_id: input.runId })
      .whereNotNull('did')
      .groupBy('portal')
      .select<{ portal: Portal; adopt: string; create: string; update: string; mails: string }[]>(
        'portal',
        db.raw("sum((did->>'adopt')::int) as adopt"),
        db.raw("sum((did->>'create')::int) as \"create\""),
        db.raw("sum((did->>'update')::int) as \"update\""),
        db.raw("sum((did->>'credentialsMails')::int) as mails"),
      );
    const run = await db('reconcile_runs').where({ id: input.runId }).first<{ started_at: Date; dry_run: boolean }>('started_at', 'dry_run');
    const finishedAt = new Date();
    const tally = (portal: Portal, statuses: string[]) =>
      repairs.filter((r) => r.portal === portal && statuses.includes(r.status)).reduce((sum, r) => sum + Number(r.clients), 0);
    const report: ReconcileReport = {
      runId: input.runId,
      dryRun: run?.dry_run ?? false,
      status: input.failure ? 'failed' : 'completed',
      durationMs: run ? finishedAt.getTime() - new Date(run.started_at).getTime() : 0,
      portals: input.portals.map((counts) => {
        const portal = ledgerName[counts.portal];
        return {
          ...counts,
          repaired: tally(portal, ['repaired']),
          noChange: tally(portal, ['no-change']),
          failed: tally(portal, ['failed']),
          unfinished: tally(portal, ['pending']),
          writes: repairs.filter((r) => r.portal === portal).reduce((sum, r) => sum + Number(r.writes ?? 0), 0),
          done: doneOf(did.find((row) => row.portal === portal)),
        };
      }),
      ...(input.failure ? { failure: input.failure } : {}),
    };
    // Repairs the run stopped waiting for are settled by the client's sync all the same, later.
    await db('reconcile_runs')
      .where({ id: input.runId })
      .update({ status: report.status, finished_at: finishedAt, report: JSON.stringify(report) });
    return report;
  }

  return { reconcilePortal, startReconcileRun, awaitRepairs, finishReconcileRun };
}

export type { PortalReconcileCounts, ReconcilePortal, ReconcileReport };
export type ReconcileActivities = ReturnType<typeof createReconcileActivities>;
