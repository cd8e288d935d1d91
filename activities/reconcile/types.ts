import type { Db } from '../../src/db';
import type { ClientOnlineMasters, ClientOnlineUser } from '../../src/domain/client-online';
import type { Drift, LedgerView, Orphan } from '../../src/domain/drift';
import type { OutlookItem } from '../../src/domain/outlook';
import type { CwEntity, CwUser } from '../../src/portals/caseware/api';
import type { CoClient } from '../../src/portals/client-online/api';
import type { PortalCallCounter } from '../../src/portals/http';
import type { ReconcilePortal } from '../../src/registry/reconcile-runs';
import type { Client, Contact } from '../../src/registry/schemas';

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
