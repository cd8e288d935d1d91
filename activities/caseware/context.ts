import type { Client, Contact } from '../../src/registry/schemas';
import type { desiredCaseWareState } from '../../src/domain/caseware';
import { CaseWareError } from '../../src/portals/caseware/errors';
import type { LedgerWrites } from '../../src/sync/ledger-writes';
import type { IdentityKey, PortalIdentity, SyncErrorInput } from '../../src/sync/ledger';
import type { PendingRepairs } from '../../src/sync/repairs';
import type { CaseWareLookupContext, ContactIds } from './lookups';
import type { CaseWareActivityDeps, CaseWarePort, CaseWareSyncProgress, CaseWareSyncSummary } from './types';

export const portal = 'caseware' as const;

/** What every step of a CaseWare sync depends on: the activities' dependencies and the worker's look-up cache. */
export type CaseWareContext = CaseWareActivityDeps & CaseWareLookupContext;

/** What a sync reads before its first call (see readForSync). */
export interface CaseWareReading {
  registry: { client: Client; contacts: Contact[] };
  desired: ReturnType<typeof desiredCaseWareState>;
  identities: PortalIdentity[];
  repairs: PendingRepairs;
  /** The record that holds each desired contact's login, by login key. */
  owners: Map<string, PortalIdentity>;
}

/** One attempt at syncing one client: what it read, what it has done so far, where it records it. */
export interface CaseWareSyncRun {
  context: CaseWareContext;
  /** The portal for this attempt: aborted with it, and its calls counted. */
  caseware: CaseWarePort;
  clientNumber: string;
  reading: CaseWareReading;
  ids: ContactIds;
  /** Where what CaseWare confirmed is recorded (at once, or when the sync closes). */
  ledger: LedgerWrites;
  errors: SyncErrorInput[];
  summary: CaseWareSyncSummary;
  /** What this attempt and its predecessors finished, reported with each heartbeat. */
  done: CaseWareSyncProgress;
  reportProgress(): void;
  /** The entity's CWGuid once known: from the ledger, an earlier attempt, or this one. */
  entityGuid: string | null;
}

/** The ledger knows this record's portal object and what it holds: an earlier sync finished it. */
export function confirmed(identity: PortalIdentity | undefined): identity is PortalIdentity & { remoteId: string } {
  return identity !== undefined && identity.remoteId !== null && identity.access === 'active' && identity.lastSent !== null && identity.lastSent !== undefined;
}

export function identityKey(identity: PortalIdentity): IdentityKey {
  return { portal, recordType: identity.recordType, recordId: identity.recordId, clientNumber: identity.clientNumber };
}

export function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/** Notes a contact (or the entity) as finished, so that a retry of this run skips it. */
export function markFinished(run: CaseWareSyncRun, contactId: number): void {
  run.done.contacts.push(contactId);
  run.reportProgress();
}

/** Runs a portal call for one record; a rule violation becomes that record's sync error. */
export async function forRecord(errors: SyncErrorInput[], record: Omit<SyncErrorInput, 'code' | 'message'>, label: string, step: () => Promise<void>) {
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
