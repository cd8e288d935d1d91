import type { ClientOnlineLogin } from '../../src/domain/client-online';
import type { PortalCallCounter } from '../../src/portals/http';
import type { IdentityKey, SyncErrorInput } from '../../src/sync/ledger';
import type { LedgerWrites } from '../../src/sync/ledger-writes';
import type { CredentialsMailCreation } from '../../src/sync/mail-guard';
import type { PendingRepairs } from '../../src/sync/repairs';
import type { SyncClientInput } from '../caseware/types';
import { portal, type ClientOnlineContext } from './context';
import type { PersonsMet } from './meet-persons';
import { sentAsIs, type ClientOnlineReading } from './reading';
import type { ClientOnlinePort, ClientOnlineSyncSummary } from './types';

/** One attempt at syncing one client: where it sends, what it found before leasing, what it did. */
export interface ClientOnlineSyncRun {
  context: ClientOnlineContext;
  input: SyncClientInput;
  clientNumber: string;
  /** Aborts the attempt's requests when Temporal cancels it. */
  signal: AbortSignal | undefined;
  /** Where what Client Online confirmed is recorded (at once, or when the sync closes). */
  ledger: LedgerWrites;
  /** The portal, each request counted in `calls`. */
  portalCalls: ClientOnlinePort;
  calls: PortalCallCounter;
  errors: SyncErrorInput[];
  summary: ClientOnlineSyncSummary;
  /** What the reconcile found Client Online holding otherwise (the push is sent whatever the ledger says); read by the opening transaction. */
  repairs: PendingRepairs;
  /** The persons met for the first time; known before `prepare` runs. */
  met: PersonsMet;
}

export function clientIdentityKey(reading: ClientOnlineReading): IdentityKey {
  return { portal, recordType: 'client', recordId: reading.desired.clientId, clientNumber: reading.clientNumber };
}

/**
 * A push is a full statement of the client: one the ledger says Client Online holds already is
 * not sent again (a BSN is never kept in the ledger, so a push that carries one always is).
 */
export function pushUnchanged(run: ClientOnlineSyncRun, reading: ClientOnlineReading): boolean {
  return run.repairs.drift.length === 0 && sentAsIs(reading);
}

/** A new login, as the credentials-mail guard counts it: by the person's record. */
export function creationOf(clientNumber: string, login: ClientOnlineLogin): CredentialsMailCreation {
  return { clientNumber, recordType: login.recordType, recordId: login.recordId };
}
