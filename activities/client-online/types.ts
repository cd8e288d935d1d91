import type { Db } from '../../src/db';
import type { ClientOnlinePush } from '../../src/domain/client-online';
import type { CoClient } from '../../src/portals/client-online/api';
import type { PortalCallCounter } from '../../src/portals/http';
import type { MailGuardSettings } from '../../src/sync/mail-guard';
import type { SyncHold } from '../../src/sync/portal-holds';

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
