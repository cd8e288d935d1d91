import type { Db } from '../../src/db';
import { desiredCaseWareState, normaliseLoginKey, type DesiredCaseWareState } from '../../src/domain/caseware';
import { contactRef, desiredClientOnlineState, type ClientOnlineUser, type DesiredClientOnlineState } from '../../src/domain/client-online';
import { listContacts, loadClientWithContacts } from '../../src/registry/contacts';
import type { Client, Contact } from '../../src/registry/schemas';
import type { SimulatorState as CaseWareState } from '../../src/simulators/caseware/simulator';
import type { SimulatorState as ClientOnlineState } from '../../src/simulators/client-online/simulator';

/**
 * Does every portal hold what the registry says it should? Compares the desired state, computed by
 * the project's own pure functions from the registry as it is now, with what the simulators hold.
 * It knows nothing of event ids or watermarks, so a change the sync skipped shows up here as a
 * difference however the sync's bookkeeping judged it.
 *
 * Records with an open sync error are what the portal forbids (a missing or shared email, a push
 * the portal refused); the rules say they keep what they had, so they are left out of the
 * comparison. Messages name portals, record ids, refs and field names, never values.
 */

export type PortalName = 'caseware' | 'clientOnline';

export interface Difference {
  portal: PortalName;
  /** The client whose sync should remove the difference. */
  clientNumber: string;
  message: string;
}

export interface PortalStates {
  caseware: CaseWareState;
  clientOnline: ClientOnlineState;
}

interface RegistryClient {
  client: Client;
  /** Live contacts, as the activities load them. */
  contacts: Contact[];
  /** Deleted ones too: their CaseWare users must be deactivated. */
  allContacts: Contact[];
}

/** Every client with its contacts, read with the repository's own functions. */
async function loadRegistry(db: Db): Promise<RegistryClient[]> {
  const numbers = await db('clients').orderBy('id').pluck<string[]>('client_number');
  // One client after the other: the service under test shares this connection pool.
  const registry: RegistryClient[] = [];
  for (const clientNumber of numbers) {
    const { client, contacts } = await loadClientWithContacts(db, clientNumber);
    const allContacts = await listContacts(db, clientNumber, { includeDeleted: true });
    registry.push({ client, contacts, allContacts });
  }
  return registry;
}

/**
 * `portal:recordType:recordId` of every open sync error, and `client_online:push:<client number>`
 * for a client whose push Client Online refused or the sync did not send (an ambiguous login).
 */
async function openErrorKeys(db: Db): Promise<Set<string>> {
  const rows = await db('sync_errors')
    .whereNull('resolved_at')
    .select<{ portal: string; record_type: string; record_id: number; client_number: string; code: string }[]>('portal', 'record_type', 'record_id', 'client_number', 'code');
  return new Set(
    rows.flatMap((row) => [
      `${row.portal}:${row.record_type}:${row.record_id}`,
      ...(row.portal === 'client_online' && row.code.startsWith('client-online-') ? [`client_online:push:${row.client_number}`] : []),
    ]),
  );
}

function differingFields(want: object, have: object, fields?: readonly string[]): string[] {
  const value = (record: object, field: string) => (record as Record<string, unknown>)[field] ?? null;
  return (fields ?? Object.keys(want)).filter((field) => value(want, field) !== value(have, field));
}

/**
 * Every difference between the registry and the portals, for the given clients (all when
 * omitted). Both portals hold data across clients (a CaseWare user, a Client Online login), so
 * the whole registry is read; only the differences of `clientNumbers` are answered.
 */
export async function portalDifferences(
  db: Db,
  portals: PortalStates,
  options: { clientNumbers?: readonly string[]; sendBsn?: boolean } = {},
): Promise<Difference[]> {
  const registry = await loadRegistry(db);
  const errors = await openErrorKeys(db);
  const caseWareIdentities = await db('portal_identities')
    .where({ portal: 'caseware', record_type: 'contact' })
    .select<{ record_id: number; remote_id: string | null }[]>('record_id', 'remote_id');
  // Logins adopted at go-live keep their refs; users a client had from before are kept in its pushes.
  const adopted = await db('client_online_logins').whereRaw('ref <> person_key').select<{ person_key: string; ref: string }[]>('person_key', 'ref');
  const kept = await db('client_online_kept_users').select<{ client_number: string; user: ClientOnlineUser }[]>('client_number', 'user');
  // New logins the credentials-mail guard holds for approval are left out of the pushes until then.
  const held = await db('credentials_mails').where({ portal: 'client_online', status: 'held' }).select<{ record_type: string; record_id: number }[]>('record_type', 'record_id');
  const clientOnline = {
    held: new Set(held.map((row) => `${row.record_type}:${row.record_id}`)),
    loginRefs: new Map(adopted.map((row) => [row.person_key, row.ref])),
    kept: kept.reduce((byClient, row) => byClient.set(row.client_number, [...(byClient.get(row.client_number) ?? []), row.user]), new Map<string, ClientOnlineUser[]>()),
  };
  const differences = [
    ...caseWareDifferences(registry, portals.caseware, errors, caseWareIdentities),
    ...clientOnlineDifferences(registry, portals.clientOnline, errors, options.sendBsn ?? false, clientOnline),
  ];
  const scope = options.clientNumbers ? new Set(options.clientNumbers) : undefined;
  return scope ? differences.filter((d) => scope.has(d.clientNumber)) : differences;
}

/** A difference as one readable line. */
export function describe(difference: Difference): string {
  return `${difference.portal} client ${difference.clientNumber}: ${difference.message}`;
}

// ----- CaseWare Cloud ----------------------------------------------------------------------------

function caseWareDifferences(
  registry: readonly RegistryClient[],
  state: CaseWareState,
  errors: ReadonlySet<string>,
  identities: readonly { record_id: number; remote_id: string | null }[],
): Difference[] {
  const differences: Difference[] = [];
  const hasError = (recordType: string, recordId: number) => errors.has(`caseware:${recordType}:${recordId}`);
  const desired = new Map<string, DesiredCaseWareState>(
    registry.map(({ client, contacts }) => [client.clientNumber, desiredCaseWareState(client, contacts)]),
  );
  const userByEmail = new Map(state.users.map((user) => [normaliseLoginKey(user.Email), user]));
  const contactRoleIds = new Set(state.roles.filter((role) => role.Name.startsWith('Contact')).map((role) => role.CWGuid));
  // Users some record should have access with; another record's old id may point at one of them.
  const wantedUsers = new Set<string>();
  for (const want of desired.values()) {
    for (const contact of want.contacts) {
      const user = userByEmail.get(contact.loginKey);
      if (user && !hasError('contact', contact.contactId)) wantedUsers.add(user.CWGuid);
    }
  }
  const remoteIdOf = new Map(identities.map((row) => [row.record_id, row.remote_id]));

  for (const { client, allContacts } of registry) {
    const want = desired.get(client.clientNumber) as DesiredCaseWareState;
    const add = (message: string) => differences.push({ portal: 'caseware', clientNumber: client.clientNumber, message });
    if (hasError('client', client.id)) continue;
    const entities = state.entities.filter((e) => e.EntityNo.toLowerCase() === client.clientNumber.toLowerCase());
    if (entities.length > 1) add(`${entities.length} entities`);
    const entity = entities[0];
    const shares = new Set(
      entity
        ? state.roleAssignments.filter((a) => a.entityId === entity.CWGuid && contactRoleIds.has(a.roleId)).map((a) => a.userId)
        : [],
    );

    if (want.entity) {
      if (!entity) add('entity missing');
      else for (const field of differingFields(want.entity, entity)) add(`entity ${field} differs`);
    }

    const expectedShares = new Set<string>();
    for (const contact of want.contacts) {
      if (hasError('contact', contact.contactId)) continue;
      const user = userByEmail.get(contact.loginKey);
      if (!user) {
        add(`contact ${contact.contactId}: no CaseWare user`);
        continue;
      }
      expectedShares.add(user.CWGuid);
      for (const field of differingFields(contact.fields, user)) add(`contact ${contact.contactId}: ${field} differs`);
      if (user.OwnerType !== 'Contact') add(`contact ${contact.contactId}: user is not a contact`);
      if (user.Type !== 'A') add(`contact ${contact.contactId}: user inactive`);
      if (entity && !shares.has(user.CWGuid)) add(`contact ${contact.contactId}: entity not shared`);
    }

    // Contacts that must not have access (switched off, deleted, their client out of CaseWare).
    const wantedIds = new Set(want.contacts.map((c) => c.contactId));
    for (const contact of allContacts) {
      if (wantedIds.has(contact.id) || hasError('contact', contact.id)) continue;
      const byLedger = remoteIdOf.get(contact.id);
      const candidates = new Set(
        [
          byLedger ? state.users.find((u) => u.CWGuid === byLedger) : undefined,
          contact.email ? userByEmail.get(normaliseLoginKey(contact.email)) : undefined,
        ].filter((u) => u !== undefined && u.OwnerType === 'Contact' && !wantedUsers.has(u.CWGuid)),
      );
      for (const user of candidates) {
        if (user?.Type === 'A') add(`contact ${contact.id}: user still active`);
        if (user && shares.has(user.CWGuid)) add(`contact ${contact.id}: entity still shared`);
      }
    }

    // No one else sees the entity; a contact with an open error may keep what it had.
    const contactErrors = allContacts.some((contact) => hasError('contact', contact.id));
    if (!contactErrors) {
      const extra = [...shares].filter((userId) => !expectedShares.has(userId)).length;
      if (extra > 0) add(`entity shared with ${extra} user(s) no linked contact of it owns`);
    }
  }
  return differences;
}

// ----- Client Online -----------------------------------------------------------------------------

const clientOnlineClientFields = ['name', 'kind', 'address', 'postcode', 'city', 'country', 'phone', 'email', 'bsn'] as const;
const clientOnlineUserFields = ['email', 'firstName', 'infix', 'lastName', 'initials', 'mobile'] as const;

function clientOnlineDifferences(
  registry: readonly RegistryClient[],
  state: ClientOnlineState,
  errors: ReadonlySet<string>,
  sendBsn: boolean,
  logins: { held: ReadonlySet<string>; loginRefs: ReadonlyMap<string, string>; kept: ReadonlyMap<string, ClientOnlineUser[]> },
): Difference[] {
  const differences: Difference[] = [];
  const clientsById = new Map(registry.map(({ client }) => [client.id, client]));
  const contactsById = new Map(registry.flatMap(({ contacts }) => contacts.map((c) => [c.id, c] as const)));
  const desired = new Map<string, DesiredClientOnlineState>();
  for (const { client, contacts } of registry) {
    // The masters its contacts follow, by login ref, as the Client Online activity loads them.
    const masters = new Map<string, Client | Contact>();
    for (const contact of contacts) {
      const master =
        contact.masterClientId !== null ? clientsById.get(contact.masterClientId)
        : contact.masterContactId !== null ? contactsById.get(contact.masterContactId)
        : undefined;
      if (master) masters.set(contactRef(contact), master);
    }
    const want = desiredClientOnlineState(client, contacts, masters, { sendBsn, loginRefs: logins.loginRefs, keptUsers: logins.kept.get(client.clientNumber) });
    const heldRefs = new Set(want.logins.filter((login) => logins.held.has(`${login.recordType}:${login.recordId}`)).map((login) => login.ref));
    if (want.push && heldRefs.size > 0) want.push = { ...want.push, users: want.push.users.filter((user) => !heldRefs.has(user.ref)) };
    desired.set(client.clientNumber, want);
  }
  // A push Client Online refused (a username taken, a bad field), or one the sync did not send (an
  // ambiguous login), leaves the client as it was.
  const refused = new Set(registry.filter(({ client }) => errors.has(`client_online:push:${client.clientNumber}`)).map(({ client }) => client.clientNumber));
  const loginByRef = new Map(state.logins.map((login) => [login.ref, login]));

  for (const [clientNumber, want] of desired) {
    if (refused.has(clientNumber)) continue;
    const add = (message: string) => differences.push({ portal: 'clientOnline', clientNumber, message });
    const held = state.clients.find((c) => c.clientNumber === clientNumber);
    if (!want.push) {
      if (held) add('client still in Client Online');
      continue;
    }
    if (!held) {
      add('client missing');
      continue;
    }
    const wantFields = { ...want.push, bsn: want.push.bsn ?? null };
    for (const field of differingFields(wantFields, held, clientOnlineClientFields)) add(`client ${field} differs`);
    const wantRefs = new Set(want.push.users.map((u) => u.ref));
    for (const ref of held.users) if (!wantRefs.has(ref)) add(`user ${ref} should not be a user`);
    for (const user of want.push.users) {
      if (!held.users.includes(user.ref)) add(`user ${user.ref} missing`);
      const login = loginByRef.get(user.ref);
      if (!login) {
        add(`login ${user.ref} missing`);
        continue;
      }
      for (const field of differingFields(user, login, clientOnlineUserFields)) add(`login ${user.ref}: ${field} differs`);
      if (!login.clients.includes(clientNumber)) add(`login ${user.ref} does not see the client`);
    }
  }

  // Each login sees exactly the clients whose push carries it.
  for (const login of state.logins) {
    for (const clientNumber of login.clients) {
      if (refused.has(clientNumber)) continue;
      const push = desired.get(clientNumber)?.push;
      if (!push?.users.some((u) => u.ref === login.ref)) {
        differences.push({ portal: 'clientOnline', clientNumber, message: `login ${login.ref} sees the client but should not` });
      }
    }
  }
  for (const held of state.clients) {
    if (!desired.has(held.clientNumber)) {
      differences.push({ portal: 'clientOnline', clientNumber: held.clientNumber, message: 'client not in the registry' });
    }
  }
  return differences;
}
