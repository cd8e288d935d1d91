import { ApplicationFailure } from '@temporalio/common';
import { isDeepStrictEqual } from 'node:util';
import type { Db } from '../src/db';
import {
  desiredCaseWareState,
  emailRemovedMessage,
  sharedEmailMessage,
  type CaseWareContactFields,
  type CaseWareEntityFields,
  type DesiredCaseWareContact,
} from '../src/domain/caseware';
import { CaseWareError } from '../src/portals/caseware/errors';
import type { Client, Contact } from '../src/registry/schemas';
import type { PortalCallCounter } from '../src/portals/http';
import { loadClientWithContacts } from '../src/registry/contacts';
import { isRegistryError } from '../src/registry/errors';
import { recordPortalHealthy, trackPortalFailures } from '../src/sync/health';
import { LedgerWrites } from '../src/sync/ledger-writes';
import { guardCredentialsMail, withdrawCredentialsMail, type MailGuardSettings } from '../src/sync/mail-guard';
import { isPortalHeld, syncMeetsHold, type SyncHold } from '../src/sync/portal-holds';
import {
  claimLogin,
  identitiesForClient,
  loginOwner,
  loginOwners,
  markApplied,
  openSyncError,
  reportSyncErrors,
  saveIdentity,
  takeRemoteObject,
  type IdentityKey,
  type PortalIdentity,
  type SyncErrorInput,
} from '../src/sync/ledger';
import { differingValues } from '../src/domain/drift';
import { driftedRecords, pendingRepairs, resyncRequested, settleRepairs, type PendingRepairs, type RepairRequest } from '../src/sync/repairs';
import { toActivityFailure } from './failures';
import { withHeartbeats, type ActivityProgress } from './heartbeat';

/** The CaseWare Cloud calls the sync needs; `CaseWareClient` provides them over HTTP. */
type CaseWareUserRef = { CWGuid: string; OwnerType: string; Type?: string | null };

export interface CaseWarePort {
  getEntity(guid: string): Promise<({ CWGuid: string } & Partial<CaseWareEntityFields>) | undefined>;
  findEntityByNumber(entityNo: string): Promise<({ CWGuid: string } & Partial<CaseWareEntityFields>) | undefined>;
  createEntity(fields: CaseWareEntityFields): Promise<{ CWGuid: string }>;
  updateEntity(guid: string, fields: Partial<CaseWareEntityFields>): Promise<{ CWGuid: string }>;
  getUser(guid: string): Promise<CaseWareUserRef | undefined>;
  findUserByEmail(email: string): Promise<CaseWareUserRef | undefined>;
  createContact(fields: CaseWareContactFields): Promise<CaseWareUserRef>;
  updateContact(guid: string, fields: Partial<CaseWareContactFields>): Promise<unknown>;
  deactivateUser(guid: string, date: string): Promise<unknown>;
  reactivateUser(guid: string): Promise<unknown>;
  findRoleByName(name: string): Promise<{ CWGuid: string } | undefined>;
  findGroupByName(name: string): Promise<{ CWGuid: string } | undefined>;
  listEntityRoleAssignments(entityGuid: string): Promise<{ userId: string; roleId: string }[]>;
  shareEntity(entityGuid: string, userIds: string[], roleId: string): Promise<void>;
  unshareEntity(entityGuid: string, userIds: string[], roleId: string): Promise<void>;
  setGroupMembership(groupGuid: string, userId: string, member: boolean): Promise<void>;
  /** The same calls, aborted by `signal` (an attempt Temporal cancelled); without it, every call runs to its timeout. */
  withSignal?(signal: AbortSignal | undefined): CaseWarePort;
  /** The same calls, each HTTP request counted (what a repair reports it wrote). */
  withCallCounter?(counter: PortalCallCounter): CaseWarePort;
}

export interface CaseWareActivityDeps {
  db: Db;
  caseware: CaseWarePort;
  /** The role under which a contact sees its client's entity ("Contact - Entity Access" or "... Staff"). */
  contactRoleName: string;
  /** Optional contact group every linked contact joins. */
  contactGroupName?: string;
  /** The credentials-mail guard's threshold (src/sync/mail-guard.ts); default 20 per 10 minutes. */
  credentialsMailGuard?: MailGuardSettings;
}

export interface SyncClientInput {
  clientNumber: string;
  /** The newest outbox event this run covers; recorded once CaseWare holds the result. */
  uptoEventId: number;
  /** The commit horizon this run covers (src/sync/ledger.ts, AppliedChanges); absent from older workflow runs. */
  horizon?: number;
}

/**
 * What a run did, in counts: workflow histories carry no personal data. `adopted`: CaseWare held
 * the object already (found by entity number or email, made by hand, by an old link, or by an
 * attempt that died before recording it) and the ledger takes it over; only the fields that
 * differed were written, nobody was mailed.
 */
export interface CaseWareSyncSummary {
  entity: 'created' | 'adopted' | 'updated' | 'unchanged' | 'absent' | 'held';
  contactsCreated: number;
  contactsAdopted: number;
  contactsUpdated: number;
  contactsRevoked: number;
  syncErrors: number;
  /** Contacts whose creation (and credentials mail) waits for approval (src/sync/mail-guard.ts). */
  contactsHeld?: number;
  /** The sync met a hold and did not bring CaseWare to the registry; it is not marked applied. */
  held?: SyncHold;
}

/** A sync of a portal an operator holds: nothing written, nothing marked applied. */
const heldByOperator: CaseWareSyncSummary = { entity: 'held', contactsCreated: 0, contactsAdopted: 0, contactsUpdated: 0, contactsRevoked: 0, syncErrors: 0, held: 'portal' };

const portal = 'caseware' as const;

/**
 * What an attempt has finished, carried by its heartbeats to the next attempt of the same run,
 * which skips it: a client too large for one attempt still gets through, and a retry never redoes
 * (or races) what its predecessor finished. Ids only, no personal data.
 */
export interface CaseWareSyncProgress {
  /** The entity's CWGuid, once it is created or brought up to date and recorded. */
  entity?: string;
  /** Contacts brought up to date, or revoked, without a sync error. */
  contacts: number[];
}

/** The ledger knows this record's portal object and what it holds: an earlier sync finished it. */
function confirmed(identity: PortalIdentity | undefined): identity is PortalIdentity & { remoteId: string } {
  return identity !== undefined && identity.remoteId !== null && identity.access === 'active' && identity.lastSent !== null && identity.lastSent !== undefined;
}

/** What a sync reads before its first call (see readForSync). */
interface CaseWareReading {
  registry: { client: Client; contacts: Contact[] };
  desired: ReturnType<typeof desiredCaseWareState>;
  identities: PortalIdentity[];
  repairs: PendingRepairs;
  /** The record that holds each desired contact's login, by login key. */
  owners: Map<string, PortalIdentity>;
}

/** The role contacts are shared under and the optional contact group, looked up when first needed. */
interface ContactIds {
  role(): Promise<string>;
  group(): Promise<string | undefined>;
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/** How long a worker trusts the role and group ids it looked up: they change rarely, if ever. */
const lookupTtlMs = 10 * 60_000;

export function createCaseWareActivities(deps: CaseWareActivityDeps) {
  const { db } = deps;
  // Fewer calls per attempt make an attempt likelier to get through a flaky portal.
  const cached = new Map<string, { value: string | undefined; until: number }>();
  // Concurrent syncs share one look-up in flight rather than each asking CaseWare.
  const inFlight = new Map<string, Promise<string | undefined>>();
  async function lookupOnce(key: string, lookup: () => Promise<string | undefined>): Promise<string | undefined> {
    const hit = cached.get(key);
    if (hit && hit.until > Date.now()) return hit.value;
    let pending = inFlight.get(key);
    if (!pending) {
      pending = lookup().finally(() => inFlight.delete(key));
      inFlight.set(key, pending);
    }
    const value = await pending;
    if (value !== undefined) cached.set(key, { value, until: Date.now() + lookupTtlMs });
    return value;
  }

  async function contactRoleId(caseware: CaseWarePort): Promise<string> {
    const roleId = await lookupOnce(`role:${deps.contactRoleName}`, async () => (await caseware.findRoleByName(deps.contactRoleName))?.CWGuid);
    if (!roleId) {
      throw ApplicationFailure.nonRetryable(
        `CaseWare Cloud has no role named "${deps.contactRoleName}"; set CASEWARE_CONTACT_ROLE to an existing contact role`,
        'ConfigurationError',
      );
    }
    return roleId;
  }

  async function contactGroupId(caseware: CaseWarePort): Promise<string | undefined> {
    const groupName = deps.contactGroupName;
    if (!groupName) return undefined;
    const groupId = await lookupOnce(`group:${groupName}`, async () => (await caseware.findGroupByName(groupName))?.CWGuid);
    if (!groupId) {
      throw ApplicationFailure.nonRetryable(
        `CaseWare Cloud has no contact group named "${deps.contactGroupName}"; create it or unset CASEWARE_CONTACT_GROUP`,
        'ConfigurationError',
      );
    }
    return groupId;
  }

  /** Runs a portal call for one record; a rule violation becomes that record's sync error. */
  async function forRecord(errors: SyncErrorInput[], record: Omit<SyncErrorInput, 'code' | 'message'>, label: string, step: () => Promise<void>) {
    try {
      await step();
    } catch (error) {
      if (error instanceof CaseWareError && !error.retryable) {
        errors.push({ ...record, code: `caseware-${error.code}`, message: `${label}: ${error.message}` });
        return;
      }
      throw error;
    }
  }

  async function syncClientToCaseWare(input: SyncClientInput): Promise<CaseWareSyncSummary> {
    try {
      // A failure no record is to blame for (credentials, permissions, unreadable answers) is
      // retried and shown once as the portal's health, never as a sync error of every client.
      return await trackPortalFailures(db, portal, () =>
        withHeartbeats<CaseWareSyncProgress, CaseWareSyncSummary>(async (progress) => {
          const ledger = new LedgerWrites(db, !progress.resumable);
          try {
            return await syncClient(input, progress, ledger);
          } catch (error) {
            // What CaseWare confirmed before the failure is recorded, so that a retry skips it.
            if (ledger.waiting) await db.transaction((trx) => ledger.flush(trx)).catch(() => undefined);
            throw error;
          }
        }),
      );
    } catch (error) {
      const failure = toActivityFailure(error);
      // A failure no retry can fix is shown to the operator with the client's sync errors; the
      // next successful run resolves it.
      if (failure instanceof ApplicationFailure && failure.nonRetryable && failure.type !== 'RegistryRecordMissing') {
        const client = await db('clients').where({ client_number: input.clientNumber }).first<{ id: number } | undefined>('id');
        if (client) {
          await openSyncError(db, portal, input.clientNumber, {
            recordType: 'client',
            recordId: client.id,
            code: failure.type ?? 'failed',
            message: `client ${input.clientNumber}: ${failure.message}`,
          });
        }
      }
      throw failure;
    }
  }

  /**
   * Everything a sync reads before its first call, in one snapshot and one commit: whether an
   * operator holds CaseWare, the client and its contacts, the ledger, the reconcile's repairs and
   * who holds each contact's login. Held: the client is noted for the release, and the sync writes
   * nothing.
   */
  async function readForSync(clientNumber: string): Promise<CaseWareReading | 'held'> {
    const reading = await db.transaction(
      async (trx) => {
        if (await isPortalHeld(trx, portal)) return 'held' as const;
        const registry = await loadClientWithContacts(trx, clientNumber).catch((error: unknown) => {
          if (isRegistryError(error) && error.code === 'not-found') {
            throw ApplicationFailure.nonRetryable(`client ${clientNumber} is not in the registry`, 'RegistryRecordMissing');
          }
          throw error;
        });
        const desired = desiredCaseWareState(registry.client, registry.contacts);
        return {
          registry,
          desired,
          identities: await identitiesForClient(trx, portal, clientNumber),
          repairs: await pendingRepairs(trx, portal, clientNumber),
          owners: await loginOwners(trx, portal, desired.contacts.map((contact) => contact.loginKey)),
        };
      },
      { isolationLevel: 'repeatable read', readOnly: true },
    );
    if (reading !== 'held') return reading;
    // Noted under the hold's lock; released meanwhile, the sync goes on.
    if (await syncMeetsHold(db, portal, clientNumber)) return 'held';
    return readForSync(clientNumber);
  }

  async function syncClient(input: SyncClientInput, progress: ActivityProgress<CaseWareSyncProgress>, ledger: LedgerWrites): Promise<CaseWareSyncSummary> {
    const { clientNumber } = input;
    const reading = await readForSync(clientNumber);
    // An operator holds CaseWare Cloud: nothing is written, the client waits for the release.
    if (reading === 'held') return heldByOperator;
    const { registry, desired, identities, repairs, owners } = reading;
    const calls: PortalCallCounter = { reads: 0, writes: 0 };
    const abortable = deps.caseware.withSignal?.(progress.signal) ?? deps.caseware;
    const caseware = abortable.withCallCounter?.(calls) ?? abortable;
    const done: CaseWareSyncProgress = { entity: progress.resumeFrom?.entity, contacts: [...(progress.resumeFrom?.contacts ?? [])] };
    const finished = (contactId: number) => {
      done.contacts.push(contactId);
      progress.report({ ...done, contacts: [...done.contacts] });
    };
    const summary: CaseWareSyncSummary = { entity: 'absent', contactsCreated: 0, contactsAdopted: 0, contactsUpdated: 0, contactsRevoked: 0, syncErrors: 0 };
    const errors: SyncErrorInput[] = [];
    const entityIdentity = identities.find((i) => i.recordType === 'client');
    const contactIdentities = new Map(identities.filter((i) => i.recordType === 'contact').map((i) => [i.recordId, i]));
    const liveContactIds = new Set(registry.contacts.map((c) => c.id));
    // What the reconcile found CaseWare holding otherwise: those records are checked against
    // CaseWare itself; every other record trusts the ledger, so a change costs only its writes.
    const drifted = driftedRecords(repairs.drift);
    // An operator's resync names the client and has every contact checked as if the reconcile had named it.
    const resync = resyncRequested(repairs.drift);
    const contactDrift = (contactId: number) =>
      repairs.drift.filter((d) => (d.recordType === 'contact' && d.recordId === contactId) || (resync && d.issue === 'resync'));

    // A linked contact that cannot be sent keeps what it has in CaseWare; one sent before whose
    // email was deleted can no longer be updated there.
    const conflicted = new Set<number>();
    for (const conflict of desired.conflicts) {
      const identity = conflict.recordType === 'contact' ? contactIdentities.get(conflict.recordId) : undefined;
      conflicted.add(conflict.recordId);
      if (conflict.code === 'missing-email' && identity?.remoteId && identity.access === 'active') {
        errors.push({ ...conflict, code: 'email-removed', message: emailRemovedMessage({ id: conflict.recordId, clientNumber }) });
      } else {
        errors.push(conflict);
      }
    }

    const ids = lazyIds(caseware);
    // A set-up problem (a role or group that does not exist) shows at once, with or without contacts;
    // the ids are cached, so this costs a call only now and then.
    await ids.role();
    await ids.group();
    let entityGuid = done.entity ?? entityIdentity?.remoteId ?? null;
    const entityKey: IdentityKey = { portal, recordType: 'client', recordId: registry.client.id, clientNumber };

    if (desired.entity && done.entity) {
      // An earlier attempt of this run brought the entity up to date; the summary is this attempt's.
      summary.entity = 'unchanged';
    } else if (desired.entity) {
      const fields = desired.entity;
      await forRecord(errors, { recordType: 'client', recordId: registry.client.id }, `client ${clientNumber}`, async () => {
        const verify = drifted.has(`client:${registry.client.id}`) || !confirmed(entityIdentity);
        let entity: { CWGuid: string } | undefined;
        // The entity the ledger knows, until CaseWare answers that it is gone.
        let knownGuid = entityGuid;
        if (!verify && entityIdentity?.remoteId) {
          // The ledger knows what CaseWare holds: send only a change.
          entity = { CWGuid: entityIdentity.remoteId };
          summary.entity = 'unchanged';
          if (!isDeepStrictEqual(entityIdentity.lastSent, fields)) {
            entity = await caseware.updateEntity(entityIdentity.remoteId, fields).catch((error: unknown) => {
              // Deleted in CaseWare: created (or adopted) again below.
              if (error instanceof CaseWareError && error.code === 'not-found') {
                knownGuid = null;
                return undefined;
              }
              throw error;
            });
            summary.entity = 'updated';
          }
        }
        if (!entity) {
          const held = knownGuid ? await caseware.getEntity(knownGuid) : undefined;
          if (held) {
            const changes = differingValues(fields, held);
            entity = Object.keys(changes).length > 0 ? await caseware.updateEntity(held.CWGuid, changes) : held;
            summary.entity = Object.keys(changes).length > 0 ? 'updated' : 'unchanged';
          } else {
            const made = await createOrAdoptEntity(caseware, fields);
            entity = made;
            summary.entity = made.adopted ? 'adopted' : 'created';
          }
        }
        entityGuid = entity.CWGuid;
        const remoteId = entity.CWGuid;
        await ledger.record((writer) => saveIdentity(writer, entityKey, { remoteId, lastSent: fields, access: 'active' }));
        done.entity = entity.CWGuid;
        progress.report({ ...done, contacts: [...done.contacts] });
      });
    }

    // Read once, and only when a contact is checked against CaseWare rather than the ledger.
    let shared: Promise<{ userId: string; roleId: string }[]> | undefined;
    const hasShare = async (userId: string) => {
      // An entity this attempt created is shared with nobody yet.
      if (!entityGuid || !desired.entity || summary.entity === 'created') return false;
      shared ??= caseware.listEntityRoleAssignments(entityGuid);
      const roleId = await ids.role();
      return (await shared).some((s) => s.userId === userId && s.roleId === roleId);
    };

    // Revoke first: a contact that lost its link, or was deleted, or whose client left CaseWare.
    const wanted = new Set(desired.contacts.map((c) => c.contactId));
    for (const identity of contactIdentities.values()) {
      if (wanted.has(identity.recordId) || conflicted.has(identity.recordId) || done.contacts.includes(identity.recordId)) continue;
      const deleted = !liveContactIds.has(identity.recordId);
      // Revoked already, unless the reconcile found it active or shared again in CaseWare.
      if (identity.access === 'revoked' && !(deleted && identity.loginKey) && !drifted.has(`contact:${identity.recordId}`)) continue;
      await forRecord(errors, { recordType: 'contact', recordId: identity.recordId }, `contact ${identity.recordId} at client ${clientNumber}`, async () => {
        await revoke(caseware, identity, entityGuid, ids);
        // A deleted contact gives up its login, and the ledger erases what was sent for it.
        await saveIdentity(db, identityKey(identity), { access: 'revoked', ...(deleted ? { loginKey: null, pendingLoginKey: null, lastSent: null } : {}) });
        summary.contactsRevoked += 1;
        finished(identity.recordId);
      });
    }

    if (desired.entity && entityGuid) {
      const counted = (outcome: ContactOutcome) => {
        if (outcome === 'created') summary.contactsCreated += 1;
        if (outcome === 'adopted') summary.contactsAdopted += 1;
        if (outcome === 'updated') summary.contactsUpdated += 1;
        if (outcome === 'held') summary.contactsHeld = (summary.contactsHeld ?? 0) + 1;
      };
      // Contacts whose user is ready but not yet shared with the entity: shared in one call.
      const unshared: { contactId: number; label: string; share: PendingShare }[] = [];
      const complete = async ({ contactId, share }: (typeof unshared)[number]) => {
        await share.complete();
        counted(share.outcome);
        finished(contactId);
      };
      /** Shares the entity with every contact waiting for it; false when CaseWare refuses the batch. */
      const shareTogether = async (): Promise<boolean> => {
        const together = await caseware.shareEntity(entityGuid as string, unshared.map((u) => u.share.userId), await ids.role()).then(
          () => true,
          (error: unknown) => {
            if (error instanceof CaseWareError && !error.retryable) return false;
            throw error;
          },
        );
        if (together) {
          for (const pending of unshared.splice(0)) await complete(pending);
        }
        return together;
      };
      const ensureContacts = async (): Promise<void> => {
        for (const contact of desired.contacts) {
          if (done.contacts.includes(contact.contactId)) continue;
          const label = `contact ${contact.contactId} at client ${clientNumber}`;
          await forRecord(errors, { recordType: 'contact', recordId: contact.contactId }, label, async () => {
            const result = await ensureContact(caseware, contact, contactIdentities.get(contact.contactId), {
              clientNumber,
              entityGuid: entityGuid as string,
              ids,
              hasShare,
              errors,
              drift: contactDrift(contact.contactId),
              owner: owners.get(contact.loginKey),
              ledger,
              // A new entity (made again after it was deleted, or adopted) is shared with nobody yet.
              entityIsNew: entityGuid !== entityIdentity?.remoteId,
            });
            if (typeof result === 'object') {
              unshared.push({ contactId: contact.contactId, label, share: result });
              return;
            }
            counted(result);
            // A contact with a sync error is tried again by a retry, so that the error stays reported.
            if (result !== 'conflict' && result !== 'held') finished(contact.contactId);
          });
        }
      };
      try {
        await ensureContacts();
      } catch (error) {
        // A retry resumes after the finished contacts: those made ready before the failure are
        // shared first, if CaseWare lets us, and so are not looked up again.
        if (unshared.length > 0) await shareTogether().catch(() => undefined);
        throw error;
      }
      // Refused as a whole, each is shared on its own, so that only the one CaseWare refuses gets
      // the sync error.
      if (unshared.length > 1) await shareTogether();
      for (const pending of unshared) {
        await forRecord(errors, { recordType: 'contact', recordId: pending.contactId }, pending.label, async () => {
          await caseware.shareEntity(entityGuid as string, [pending.share.userId], await ids.role());
          await complete(pending);
        });
      }
    }

    // A contact whose creation waits for approval has not reached CaseWare: the client stays
    // pending until the approval's event syncs it again.
    if (summary.contactsHeld) summary.held = 'credentials-mails';
    await closeSync(input, { ledger, errors, repairs, writes: calls.writes, summary });
    summary.syncErrors = errors.length;
    return summary;
  }

  /**
   * The transaction that ends a sync: what CaseWare confirmed, the client's sync errors, the
   * repairs it settled, the changes it applied (unless a hold kept it from applying them) and the
   * portal's health.
   */
  async function closeSync(
    input: SyncClientInput,
    { ledger, errors, repairs, writes, summary }: { ledger: LedgerWrites; errors: SyncErrorInput[]; repairs: PendingRepairs; writes: number; summary: CaseWareSyncSummary },
  ): Promise<void> {
    await db.transaction(async (trx) => {
      await ledger.flush(trx);
      await reportSyncErrors(trx, portal, input.clientNumber, errors);
      await settleRepairs(trx, repairs, {
        errors,
        writes,
        did: {
          adopt: (summary.entity === 'adopted' ? 1 : 0) + summary.contactsAdopted,
          create: (summary.entity === 'created' ? 1 : 0) + summary.contactsCreated,
          update: (summary.entity === 'updated' ? 1 : 0) + summary.contactsUpdated,
          credentialsMails: summary.contactsCreated,
        },
      });
      if (!summary.held) await markApplied(trx, portal, input);
      await recordPortalHealthy(trx, portal);
    });
  }

  /**
   * Creates the client's entity; when CaseWare answers that the number is taken, the entity with
   * that number is the client's (made by hand or by an old link before go-live, or by an attempt
   * that died before the ledger recorded it) and is adopted: only the fields that differ from the
   * registry are written. The entity number is unique in CaseWare and creating an entity mails
   * nobody, so creating first can never make a second entity, and a new client costs no look-up.
   */
  async function createOrAdoptEntity(caseware: CaseWarePort, fields: CaseWareEntityFields): Promise<{ CWGuid: string; adopted: boolean }> {
    try {
      return { ...(await caseware.createEntity(fields)), adopted: false };
    } catch (error) {
      if (!(error instanceof CaseWareError && error.code === 'duplicate-number')) throw error;
      const existing = await caseware.findEntityByNumber(fields.EntityNo);
      // Taken, yet not found by its number (deleted meanwhile): the refusal stands for this sync.
      if (!existing) throw error;
      const changes = differingValues(fields, existing);
      if (Object.keys(changes).length > 0) await caseware.updateEntity(existing.CWGuid, changes);
      return { CWGuid: existing.CWGuid, adopted: true };
    }
  }

  /** The role and group ids, looked up the first time a call needs them (and cached per worker). */
  function lazyIds(caseware: CaseWarePort): ContactIds {
    let role: Promise<string> | undefined;
    let group: Promise<string | undefined> | undefined;
    return {
      role: () => (role ??= contactRoleId(caseware)),
      group: () => (group ??= contactGroupId(caseware)),
    };
  }

  function identityKey(identity: PortalIdentity): IdentityKey {
    return { portal, recordType: identity.recordType, recordId: identity.recordId, clientNumber: identity.clientNumber };
  }

  async function revoke(caseware: CaseWarePort, identity: PortalIdentity, entityGuid: string | null, ids: ContactIds) {
    // Access written ahead with no id: an attempt may have created the user and died before it
    // learnt the id. The login key is this contact's claim, so a contact user with that email is it.
    if (!identity.remoteId && identity.access === 'active' && identity.loginKey) {
      const user = await caseware.findUserByEmail(identity.loginKey);
      if (user?.OwnerType === 'Contact') {
        identity = { ...identity, remoteId: user.CWGuid };
        await saveIdentity(db, identityKey(identity), { remoteId: user.CWGuid });
      }
    }
    if (!identity.remoteId) return;
    const remoteId = identity.remoteId;
    const ignoreMissing = (error: unknown) => {
      if (error instanceof CaseWareError && error.code === 'not-found') return;
      throw error;
    };
    const groupId = await ids.group();
    if (entityGuid) await caseware.unshareEntity(entityGuid, [remoteId], await ids.role()).catch(ignoreMissing);
    if (groupId) await caseware.setGroupMembership(groupId, remoteId, false).catch(ignoreMissing);
    await caseware.deactivateUser(remoteId, today()).catch(ignoreMissing);
  }

  /** `held`: its creation waits for the approval of the credentials-mail guard; nothing was written for it. */
  type ContactOutcome = 'created' | 'adopted' | 'updated' | 'unchanged' | 'conflict' | 'held';

  /**
   * A contact whose user is ready in CaseWare but not yet shared with the entity: the caller shares
   * the entity with every such contact of the client in one call, then completes each (the ledger
   * records it as finished only then).
   */
  interface PendingShare {
    userId: string;
    outcome: Exclude<ContactOutcome, 'conflict'>;
    complete: () => Promise<void>;
  }

  interface ContactContext {
    clientNumber: string;
    entityGuid: string;
    ids: ContactIds;
    hasShare: (userId: string) => Promise<boolean>;
    errors: SyncErrorInput[];
    /** What the reconcile found CaseWare holding otherwise for this contact, or a resync of its client. */
    drift: RepairRequest[];
    /** The entity is not the one the ledger knew: no share can be trusted. */
    entityIsNew: boolean;
    /** The record that held the contact's login when the sync read the ledger. */
    owner: PortalIdentity | undefined;
    /** Where what CaseWare confirmed is recorded (at once, or when the sync closes). */
    ledger: LedgerWrites;
  }

  async function ensureContact(
    caseware: CaseWarePort,
    contact: DesiredCaseWareContact,
    identity: PortalIdentity | undefined,
    context: ContactContext,
  ): Promise<ContactOutcome | PendingShare> {
    const key: IdentityKey = { portal, recordType: 'contact', recordId: contact.contactId, clientNumber: context.clientNumber };
    const conflict = (owner: PortalIdentity) => {
      context.errors.push({
        recordType: 'contact',
        recordId: contact.contactId,
        code: 'shared-email',
        message: sharedEmailMessage({ id: contact.contactId, clientNumber: context.clientNumber }, owner),
      });
      return 'conflict' as const;
    };

    // The first record sent with an email owns that CaseWare login. Another record held it when the
    // sync began: asked again, since this sync may have just let it go (a deleted contact's).
    const ownLogin = (holder: PortalIdentity | undefined) => !holder || (holder.recordType === 'contact' && holder.recordId === contact.contactId);
    const owner = ownLogin(context.owner) ? context.owner : await loginOwner(db, portal, contact.loginKey);
    if (owner && !ownLogin(owner)) return conflict(owner);

    // Trusted: an earlier sync finished this contact (user, share and group) and recorded what it
    // sent, and the reconcile found nothing wrong with it. Then CaseWare is not read: a change is
    // one call, no change none.
    let trusted = confirmed(identity) && context.drift.length === 0 && !context.entityIsNew;
    if (trusted && identity?.loginKey === contact.loginKey) {
      if (isDeepStrictEqual(identity.lastSent, contact.fields)) return 'unchanged';
      const updated = await caseware.updateContact(identity.remoteId as string, contact.fields).then(
        () => true,
        (error: unknown) => {
          // Deleted in CaseWare: checked and made again below.
          if (error instanceof CaseWareError && error.code === 'not-found') return false;
          throw error;
        },
      );
      if (updated) {
        await context.ledger.record((writer) => saveIdentity(writer, key, { lastSent: contact.fields }));
        return 'updated';
      }
      trusted = false;
    }

    // Write-ahead: the ledger says "active" before any call that can give access (create,
    // reactivate, share), so an attempt that fails half-way leaves the revoke path something to
    // take back instead of a ledger that says "revoked" over an active CaseWare user. Until the
    // last step it records nothing as sent, so the next attempt checks CaseWare again.
    let accessRecorded = identity?.access === 'active' && (trusted || identity.lastSent === null);
    const beforeGivingAccess = async () => {
      if (accessRecorded) return;
      await saveIdentity(db, key, { access: 'active', lastSent: null });
      accessRecorded = true;
    };

    let user: CaseWareUserRef | undefined = trusted
      ? { CWGuid: identity?.remoteId as string, OwnerType: 'Contact', Type: 'A' }
      : identity?.remoteId
        ? await caseware.getUser(identity.remoteId)
        : undefined;
    const knownUser = user !== undefined;
    let outcome: Exclude<ContactOutcome, 'conflict'> = 'unchanged';
    // A user this attempt created has no shares yet.
    let created = false;
    // What CaseWare holds for this user, to compare with what it should hold.
    let held: object | undefined = trusted ? (identity?.lastSent as object) : user;
    if (!user) {
      const claim = await claimLogin(db, key, contact.loginKey);
      if (!claim.claimed) return conflict(claim.owner);
      const staffUser = async () => {
        await saveIdentity(db, key, { loginKey: null });
        context.errors.push({
          recordType: 'contact',
          recordId: contact.contactId,
          code: 'email-in-use',
          message:
            `contact ${contact.contactId} at client ${context.clientNumber} has the email address of a CaseWare Cloud ` +
            'staff user; CaseWare Cloud needs a unique email per login. Give the contact an email address of its own.',
        });
        return 'conflict' as const;
      };
      // A contact the ledger has met before may have been created by an attempt that failed
      // before recording it: look it up by email. A contact never met is created at once; should
      // CaseWare know the email after all (left from before), its 409 leads to the same look-up.
      if (identity !== undefined) {
        user = await caseware.findUserByEmail(contact.fields.Email);
        if (user && user.OwnerType !== 'Contact') return staffUser();
        // Its email changed since: the attempt that died may have created the user under the
        // address claimed then (the ledger's login key). That user is this contact's; it gets the
        // new address below rather than a second user beside it.
        if (!user && !identity.remoteId && identity.access === 'active' && identity.loginKey && identity.loginKey !== contact.loginKey) {
          const earlier = await caseware.findUserByEmail(identity.loginKey);
          if (earlier?.OwnerType === 'Contact') user = earlier;
        }
        held = user;
      }
      if (!user) {
        // Creating the user mails it credentials: beyond the guard's threshold it waits for approval.
        const creation = { clientNumber: context.clientNumber, recordType: 'contact', recordId: contact.contactId } as const;
        if (!(await guardCredentialsMail(db, portal, creation, deps.credentialsMailGuard)).allowed) return 'held';
        try {
          await beforeGivingAccess();
          user = await caseware.createContact(contact.fields);
          outcome = 'created';
          held = contact.fields;
          created = true;
        } catch (error) {
          // Refused (a duplicate email is adopted below): nobody was mailed.
          if (error instanceof CaseWareError && !error.retryable) await withdrawCredentialsMail(db, portal, creation);
          if (!(error instanceof CaseWareError && error.code === 'duplicate-email')) throw error;
          user = await caseware.findUserByEmail(contact.fields.Email);
          if (!user) throw error;
          if (user.OwnerType !== 'Contact') return staffUser();
          held = user;
        }
      }
      // Found by email rather than made: adopted, and never mailed.
      if (!created) outcome = 'adopted';
      // Found by email, the user may have been a deleted contact's: it is this contact's now.
      await takeRemoteObject(db, key, { remoteId: user.CWGuid, loginKey: contact.loginKey });
    }
    // An email change: reserve the new login besides the old one; until CaseWare has taken it,
    // the old one stays this contact's, so no other contact can adopt this CaseWare user by the
    // old address, even when this worker dies before it learns CaseWare's answer.
    const changingEmail = knownUser && (identity?.loginKey ?? null) !== contact.loginKey;
    if (changingEmail) {
      const claim = await claimLogin(db, key, contact.loginKey, { pending: true });
      if (!claim.claimed) return conflict(claim.owner);
    }

    // Only what CaseWare holds otherwise is written (an adopted user keeps the rest as it is).
    const changes = held === undefined ? contact.fields : differingValues(contact.fields, held as Partial<CaseWareContactFields>);
    if (Object.keys(changes).length > 0) {
      try {
        await caseware.updateContact(user.CWGuid, changes);
      } catch (error) {
        // Refused: the new address stays free for others. Not answered (a timeout): CaseWare may
        // have taken it, so it stays reserved and the retry finds out.
        if (changingEmail && error instanceof CaseWareError && !error.retryable) await saveIdentity(db, key, { pendingLoginKey: null });
        throw error;
      }
      if (outcome !== 'adopted') outcome = 'updated';
    }
    await beforeGivingAccess();
    if (user.Type === 'I') {
      await caseware.reactivateUser(user.CWGuid);
      if (outcome === 'unchanged') outcome = 'updated';
    }
    const groupId = await context.ids.group();
    // Group membership is not read per contact: set when the contact was not finished before, when
    // the reconcile found it missing, or on a resync.
    if (groupId && (!confirmed(identity) || context.drift.some((d) => d.issue === 'group-missing' || d.issue === 'resync'))) {
      await caseware.setGroupMembership(groupId, user.CWGuid, true);
    }
    const userId = user.CWGuid;
    const complete = () =>
      context.ledger.record((writer) => saveIdentity(writer, key, { remoteId: userId, loginKey: contact.loginKey, pendingLoginKey: null, lastSent: contact.fields, access: 'active' }));
    if (!trusted && (created || !(await context.hasShare(userId)))) return { userId, outcome, complete };
    await complete();
    return outcome;
  }

  return { syncClientToCaseWare };
}

export type CaseWareActivities = ReturnType<typeof createCaseWareActivities>;
