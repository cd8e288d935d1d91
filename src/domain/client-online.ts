import type { Client, Contact } from '../registry/schemas';

/**
 * What Client Online should hold for one client, as a pure function of the registry
 * (domain.md, "Client Online rules"; seed article 004).
 *
 * A login's identity is its `ref`. One real person must have one ref everywhere, or Client Online
 * sees a new login and mails a second set of credentials. So a contact that follows a master uses
 * the master's login and the master's details (a master contact's as much as a person client's);
 * a person client uses its own.
 *
 * A person is known here by a key (`p-<person client id>`, `c-<contact id>`); the login's ref is
 * that key, unless the person's login was adopted (go-live): then it keeps the ref Client Online
 * already knew it by, and the caller passes it in `loginRefs`.
 */

export interface ClientOnlineUser {
  ref: string;
  firstName: string | null;
  infix: string | null;
  lastName: string | null;
  initials: string | null;
  email: string;
  mobile: string | null;
}

export interface ClientOnlinePush {
  name: string;
  kind: 'company' | 'person';
  address: string | null;
  postcode: string | null;
  city: string | null;
  country: string | null;
  phone: string | null;
  email: string | null;
  /** Only for person clients, and only when the firm switches it on. */
  bsn?: string | null;
  users: ClientOnlineUser[];
}

export type ClientOnlineExclusion = 'client-not-linked' | 'suspect' | 'former-client';

export interface ClientOnlineConflict {
  recordType: 'client' | 'contact';
  recordId: number;
  code: 'missing-email' | 'no-client-user' | 'shared-email';
  message: string;
}

/** Whose login a pushed user is: never sent, for the sync to find and adopt existing logins. */
export interface ClientOnlineLogin {
  /** The person's key: `p-<person client id>` or `c-<contact id>`. */
  personKey: string;
  /** The ref it is pushed with. */
  ref: string;
  /** The record the person's private data lives in (the master). */
  recordType: 'client' | 'contact';
  recordId: number;
  /** Every address the person is known by, lower case, the login's own first. */
  emails: string[];
}

export interface DesiredClientOnlineState {
  clientNumber: string;
  clientId: number;
  /** null: the client must not be (or no longer be) in Client Online. */
  push: ClientOnlinePush | null;
  exclusion: ClientOnlineExclusion | null;
  conflicts: ClientOnlineConflict[];
  /** The push's users' persons, in push order. */
  logins: ClientOnlineLogin[];
}

export interface ClientOnlineOptions {
  /** Send person clients' BSN (domain.md, "Personal data"): off unless the firm switches it on. */
  sendBsn: boolean;
  /** A login's ref where it is not its person's key (adopted at go-live), by person key. */
  loginRefs?: ReadonlyMap<string, string>;
  /**
   * Users the client had in Client Online before portal-sync first pushed it, that the registry does
   * not give access to it: kept in its push as they were (go-live), after the registry's users.
   */
  keptUsers?: readonly ClientOnlineUser[];
}

/** A person client's key (and its login's ref, unless adopted). */
export function personClientRef(client: Pick<Client, 'id'>): string {
  return `p-${client.id}`;
}

/** The key of the person a contact is (its master's when it follows one). */
export function contactRef(contact: Pick<Contact, 'id' | 'masterClientId' | 'masterContactId'>): string {
  if (contact.masterClientId !== null) return `p-${contact.masterClientId}`;
  if (contact.masterContactId !== null) return `c-${contact.masterContactId}`;
  return `c-${contact.id}`;
}

function clientExclusion(client: Client): ClientOnlineExclusion | null {
  if (client.status === 'suspect') return 'suspect';
  if (client.status === 'former') return 'former-client';
  if (!client.links.clientOnline) return 'client-not-linked';
  return null;
}

type Person = Pick<Client | Contact, 'firstName' | 'infix' | 'lastName' | 'initials' | 'privateEmail' | 'privateMobile' | 'correspondenceEmailPreference'>;

/** The address a person's login is made for, by the correspondence preference. */
function loginEmail(person: Person, businessEmail: string | null): string | null {
  return person.correspondenceEmailPreference === 'private'
    ? person.privateEmail ?? businessEmail
    : businessEmail ?? person.privateEmail;
}

const normalEmail = (email: string) => email.trim().toLowerCase();

/**
 * The login a record makes of its own: a person client's, or a contact's that follows no master.
 * A follower carries its master's, so every push of that person's login says the same.
 */
function ownLogin(record: Client | Contact, loginRefs: ReadonlyMap<string, string> | undefined): { user: ClientOnlineUser; login: ClientOnlineLogin } | null {
  const person = 'kind' in record;
  const personKey = person ? personClientRef(record) : `c-${record.id}`;
  const email = loginEmail(record, record.email);
  if (!email) return null;
  const ref = loginRefs?.get(personKey) ?? personKey;
  const user: ClientOnlineUser = {
    ref,
    firstName: record.firstName,
    infix: record.infix,
    lastName: record.lastName,
    initials: record.initials,
    email: normalEmail(email),
    mobile: person ? record.privateMobile : (record.mobile ?? record.privateMobile),
  };
  const emails = [...new Set([email, record.privateEmail, record.email].filter((e): e is string => !!e).map(normalEmail))];
  return { user, login: { personKey, ref, recordType: person ? 'client' : 'contact', recordId: record.id, emails } };
}

function missingEmail(recordType: 'client' | 'contact', recordId: number, clientNumber: string, ownLogin: boolean): ClientOnlineConflict {
  const who = recordType === 'client' ? `person client ${clientNumber}` : `contact ${recordId} at client ${clientNumber}`;
  return {
    recordType,
    recordId,
    code: 'missing-email',
    message: ownLogin
      ? `${who} has no email address; Client Online needs one to create the login. Give it an email address.`
      : `${who} follows a master without an email address; Client Online needs one for that person's login. Give the master an email address.`,
  };
}

/** The masters (person clients and master contacts) that contacts of a client follow, by login ref. */
export type ClientOnlineMasters = ReadonlyMap<string, Client | Contact>;

/**
 * @param masters every master a contact of this client follows, by its login ref (`contactRef`)
 */
export function desiredClientOnlineState(
  client: Client,
  contacts: readonly Contact[],
  masters: ClientOnlineMasters,
  options: ClientOnlineOptions,
): DesiredClientOnlineState {
  const base = { clientNumber: client.clientNumber, clientId: client.id };
  const exclusion = clientExclusion(client);
  if (exclusion) return { ...base, push: null, exclusion, conflicts: [], logins: [] };

  const conflicts: ClientOnlineConflict[] = [];
  const users: ClientOnlineUser[] = [];
  const logins: ClientOnlineLogin[] = [];
  const add = ({ user, login }: { user: ClientOnlineUser; login: ClientOnlineLogin }, recordType: 'client' | 'contact', recordId: number) => {
    // Two contacts of one person (both following the same master) are one login here.
    if (users.some((u) => u.ref === user.ref)) return;
    const sameEmail = users.find((u) => u.email === user.email);
    if (sameEmail) {
      conflicts.push({
        recordType,
        recordId,
        code: 'shared-email',
        message:
          `${recordType} ${recordId} at client ${client.clientNumber} has the same email address as another client user ` +
          'of this client; Client Online needs a unique username per login. Give it an email address of its own, or link it to its master.',
      });
      return;
    }
    users.push(user);
    logins.push(login);
  };

  if (client.kind === 'person') {
    // A person client is its own client user (seed 004: "Klant-Persoon P ook als Cliënt-gebruiker P").
    const self = ownLogin(client, options.loginRefs);
    if (self) add(self, 'client', client.id);
    else conflicts.push(missingEmail('client', client.id, client.clientNumber, true));
  }

  const linked = contacts
    .filter((c) => c.clientId === client.id && c.deletedAt === null && c.links.clientOnline)
    .sort((a, b) => a.id - b.id);
  for (const contact of linked) {
    const following = contact.masterClientId !== null || contact.masterContactId !== null;
    const master = following ? masters.get(contactRef(contact)) : undefined;
    // Falling back to the contact's own details would make the master's login flip with each push.
    if (following && !master) throw new Error(`contact ${contact.id} follows ${contactRef(contact)}, which the caller did not load`);
    const user = ownLogin(master ?? contact, options.loginRefs);
    // A follower's business address at this client may be what an earlier link made the login with.
    if (user && master && contact.email) user.login.emails = [...new Set([...user.login.emails, normalEmail(contact.email)])];
    if (user) add(user, 'contact', contact.id);
    else conflicts.push(missingEmail('contact', contact.id, client.clientNumber, !master));
  }

  if (users.length === 0) {
    conflicts.push({
      recordType: 'client',
      recordId: client.id,
      code: 'no-client-user',
      message:
        `client ${client.clientNumber} has no client user in Client Online, so nobody can log in to see it; ` +
        'switch on the Client Online link of at least one of its contacts (with an email address).',
    });
  }

  const pushed = new Set(users.map((user) => user.ref));
  users.push(...(options.keptUsers ?? []).filter((user) => !pushed.has(user.ref)));

  const person = client.kind === 'person';
  const push: ClientOnlinePush = {
    name: client.name,
    kind: client.kind,
    address: client.address ?? (person ? client.residentialStreet : null),
    postcode: client.postcode ?? (person ? client.residentialPostcode : null),
    city: client.city ?? (person ? client.residentialCity : null),
    country: client.country ?? (person ? client.residentialCountry : null),
    phone: client.phone,
    email: client.email,
    ...(person && options.sendBsn ? { bsn: client.bsn } : {}),
    users,
  };
  return { ...base, push, exclusion: null, conflicts, logins };
}
