import type { Db } from '../../src/db';
import type { CaseWareContactFields, CaseWareEntityFields } from '../../src/domain/caseware';
import type { PortalCallCounter } from '../../src/portals/http';
import type { MailGuardSettings } from '../../src/sync/mail-guard';
import type { SyncHold } from '../../src/sync/portal-holds';

/** The CaseWare Cloud calls the sync needs; `CaseWareClient` provides them over HTTP. */
export type CaseWareUserRef = { CWGuid: string; OwnerType: string; Type?: string | null };

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
