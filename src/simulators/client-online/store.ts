import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  CO_DEFAULT_PAGE_SIZE,
  CO_FIRST_PAGE,
  CO_MAX_PAGE_SIZE,
  coClientNumberPattern,
  coClientPushSchema,
  type CoClient,
  type CoClientKind,
  type CoClientPage,
  type CoClientPushParsed,
  type CoUser,
} from '../../portals/client-online/api';
import { ClientOnlineSimulatorError } from './errors';

// The data of the simulated Client Online and every rule the service enforces on it. A login is
// identified by our `ref`; its username is its email (unique over all logins, case-insensitively).
// A client lists the refs of the logins that may see it; a login lists the clients it may see, and
// exists only while it may see at least one.

export interface SimulatedMail {
  to: string;
  kind: 'credentials';
  ref: string;
  at: string;
}

export interface SimulatedClient {
  clientNumber: string;
  name: string;
  kind: CoClientKind;
  address: string | null;
  postcode: string | null;
  city: string | null;
  country: string | null;
  phone: string | null;
  email: string | null;
  bsn: string | null;
  /** Refs of the logins that see this client, in push order. */
  users: string[];
}

export interface SimulatedLogin {
  loginId: string;
  ref: string;
  email: string;
  firstName: string | null;
  infix: string | null;
  lastName: string | null;
  initials: string | null;
  mobile: string | null;
  /** Client numbers this login can see. */
  clients: string[];
}

export interface SimulatorState {
  clients: SimulatedClient[];
  logins: SimulatedLogin[];
  mails: SimulatedMail[];
}

export interface ListQuery {
  page?: unknown;
  pageSize?: unknown;
}

/**
 * A push after validation, with what the service concluded about each ref when it looked them up:
 * the loginId of the login a ref names, or undefined for a ref it has never seen (a new login).
 */
export interface PushPlan {
  clientNumber: string;
  push: CoClientPushParsed;
  resolved: Map<string, string | undefined>;
}

type Login = Omit<SimulatedLogin, 'clients'> & { clients: Set<string> };

function username(email: string): string {
  return email.toLowerCase();
}

export class ClientOnlineStore {
  private clients = new Map<string, SimulatedClient>();
  /** By ref: one login per ref. */
  private logins = new Map<string, Login>();
  /** The ref of the login that has each username: a push checks its users without a pass over every login. */
  private usernames = new Map<string, string>();
  private mails: SimulatedMail[] = [];

  reset(): void {
    this.clients = new Map();
    this.logins = new Map();
    this.usernames = new Map();
    this.mails = [];
  }

  state(): SimulatorState {
    return structuredClone({
      clients: [...this.clients.values()],
      logins: [...this.logins.values()].map((login) => ({ ...login, clients: [...login.clients] })),
      mails: this.mails,
    });
  }

  // ----- reading -------------------------------------------------------------------------------

  getClient(clientNumber: string): CoClient {
    return this.view(this.client(clientNumber));
  }

  listClients(query: ListQuery): CoClientPage {
    const page = integerParameter('page', query.page, CO_FIRST_PAGE);
    const pageSize = Math.min(integerParameter('pageSize', query.pageSize, CO_DEFAULT_PAGE_SIZE), CO_MAX_PAGE_SIZE);
    if (page < CO_FIRST_PAGE) throw invalid(`page starts at ${CO_FIRST_PAGE}`);
    if (pageSize < 1) throw invalid('pageSize must be at least 1');
    // [assumed] Clients are listed in the order they were first pushed. One pass that stops at the
    // page's end; only the page is copied.
    let skip = (page - CO_FIRST_PAGE) * pageSize;
    const items: CoClient[] = [];
    for (const client of this.clients.values()) {
      if (items.length === pageSize) break;
      if (skip > 0) skip -= 1;
      else items.push(this.view(client));
    }
    return { items, page, pageSize, total: this.clients.size };
  }

  // ----- pushing a client ----------------------------------------------------------------------

  /**
   * Validates a push and looks up its refs: the first half of a push. Refuses (400, 409) before
   * anything changes. The caller may wait between this and `applyPush`, as the real service's own
   * database round trip does.
   */
  planPush(clientNumber: string, body: unknown): PushPlan {
    assertClientNumber(clientNumber);
    const push = parsePush(body);
    const resolved = new Map(push.users.map((user) => [user.ref, this.logins.get(user.ref)?.loginId]));
    const plan: PushPlan = { clientNumber, push, resolved };
    this.assertUsernamesFree(plan);
    return plan;
  }

  /**
   * The second half of a push: applies the plan at once, or refuses and changes nothing.
   *
   * The race, modeled the way a service with a read-check-write gap and unique indexes on ref and
   * username behaves when two pushes overlap (chosen rule):
   * - a ref judged new whose login was created meanwhile by another push: the insert collides
   *   with it: 409 `conflict` (with the same email it is also a taken username). No second login,
   *   no second mail; the loser's retry finds the ref known and succeeds without a mail.
   * - a ref judged new whose email was taken meanwhile by another login: 409 `username-taken`.
   * - a ref judged known whose login was deleted meanwhile (its last client removed by another
   *   push or a DELETE): the update of a vanished row fails: 500 `internal`, nothing changes. A
   *   retry then finds the ref unknown and creates a new login, with a new mail.
   */
  applyPush(plan: PushPlan, options: { mail?: boolean } = {}): { client: CoClient; created: boolean } {
    for (const [ref, loginId] of plan.resolved) {
      const login = this.logins.get(ref);
      if (loginId === undefined && login !== undefined) {
        throw new ClientOnlineSimulatorError(409, 'conflict', `A login with ref ${ref} was created while this push was processed`);
      }
      if (loginId !== undefined && login?.loginId !== loginId) {
        throw new ClientOnlineSimulatorError(500, 'internal', 'The push failed; nothing was changed');
      }
    }
    this.assertUsernamesFree(plan);

    const { clientNumber, push } = plan;
    const pushedRefs = new Set(push.users.map((user) => user.ref));
    const existing = this.clients.get(clientNumber);
    for (const ref of existing?.users ?? []) {
      if (!pushedRefs.has(ref)) this.revoke(ref, clientNumber);
    }
    const now = new Date().toISOString();
    for (const user of push.users) {
      const details = {
        email: user.email,
        firstName: user.firstName ?? null,
        infix: user.infix ?? null,
        lastName: user.lastName ?? null,
        initials: user.initials ?? null,
        mobile: user.mobile ?? null,
      };
      const login = this.logins.get(user.ref);
      if (login !== undefined) {
        // A known ref is the same login: it gains this client and its details are updated, no mail.
        this.releaseUsername(login);
        Object.assign(login, details);
        login.clients.add(clientNumber);
      } else {
        // [public] Client Online mails credentials to every user it believes is new.
        this.logins.set(user.ref, { loginId: randomUUID(), ref: user.ref, ...details, clients: new Set([clientNumber]) });
        if (options.mail !== false) this.mails.push({ to: user.email, kind: 'credentials', ref: user.ref, at: now });
      }
      this.usernames.set(username(user.email), user.ref);
    }
    const client: SimulatedClient = {
      clientNumber,
      name: push.name,
      kind: push.kind,
      address: push.address ?? null,
      postcode: push.postcode ?? null,
      city: push.city ?? null,
      country: push.country ?? null,
      phone: push.phone ?? null,
      email: push.email ?? null,
      bsn: push.bsn ?? null,
      users: push.users.map((user) => user.ref),
    };
    this.clients.set(clientNumber, client);
    return { client: this.view(client), created: existing === undefined };
  }

  // ----- test and demo hooks -------------------------------------------------------------------

  /**
   * `POST /_sim/load`: new clients with their users in bulk, all or none, as if each had been
   * pushed long ago, but nobody is mailed. Every push is checked with the API's own schema and
   * rules (client number, refs, usernames unique over every login as they are after the pushes
   * before it); a client Client Online holds already is refused.
   */
  load(body: unknown): { clients: number; logins: number } {
    const parsed = simLoadSchema.safeParse(body ?? {});
    if (!parsed.success) throw invalid(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
    // Usernames and login emails as they will be after each push of the load.
    const usernames = new Map(this.usernames);
    const emails = new Map<string, string>();
    const numbers = new Set<string>();
    const plans: PushPlan[] = [];
    for (const { clientNumber, ...body } of parsed.data.clients) {
      assertClientNumber(clientNumber);
      if (this.clients.has(clientNumber) || numbers.has(clientNumber)) {
        throw new ClientOnlineSimulatorError(409, 'conflict', `Client ${clientNumber} exists already`);
      }
      numbers.add(clientNumber);
      const push = parsePush(body);
      // A pushed login gives up the username it had, as in assertUsernamesFree.
      for (const user of push.users) {
        const previous = emails.get(user.ref) ?? this.logins.get(user.ref)?.email;
        if (previous !== undefined && usernames.get(username(previous)) === user.ref) usernames.delete(username(previous));
      }
      for (const user of push.users) {
        const name = username(user.email);
        const owner = usernames.get(name);
        if (owner !== undefined && owner !== user.ref) {
          throw new ClientOnlineSimulatorError(409, 'username-taken', `The username of login ${user.ref} is already taken by login ${owner}`);
        }
        usernames.set(name, user.ref);
        emails.set(user.ref, user.email);
      }
      plans.push({ clientNumber, push, resolved: new Map() });
    }
    for (const plan of plans) {
      const resolved = new Map(plan.push.users.map((user) => [user.ref, this.logins.get(user.ref)?.loginId]));
      this.applyPush({ ...plan, resolved }, { mail: false });
    }
    return { clients: plans.length, logins: new Set(plans.flatMap((plan) => plan.push.users.map((user) => user.ref))).size };
  }

  /** The clients with these numbers as the API shows them, by number; unknown ones are left out. */
  lookup(body: unknown): { clients: Record<string, CoClient> } {
    const parsed = simLookupSchema.safeParse(body ?? {});
    if (!parsed.success) throw invalid('clients must be a list of client numbers');
    const clients: Record<string, CoClient> = {};
    for (const clientNumber of parsed.data.clients) {
      const client = this.clients.get(clientNumber);
      if (client !== undefined) clients[clientNumber] = this.view(client);
    }
    return { clients };
  }

  // ----- deleting a client ---------------------------------------------------------------------

  deleteClient(clientNumber: string): void {
    const client = this.client(clientNumber);
    for (const ref of client.users) this.revoke(ref, clientNumber);
    this.clients.delete(clientNumber);
  }

  // ----- rules ---------------------------------------------------------------------------------

  /**
   * Usernames stay unique over the logins as they will be after the push: a login this push
   * removes from its last client (and so deletes) frees its username for the same push.
   * [assumed] Removals are applied before creations, in one transaction.
   */
  private assertUsernamesFree(plan: PushPlan): void {
    const { clientNumber, push } = plan;
    const pushedRefs = new Set(push.users.map((user) => user.ref));
    const previousRefs = new Set(this.clients.get(clientNumber)?.users ?? []);
    /** The owner a username has after the push: a pushed user that comes first, or a login that keeps it. */
    const owners = new Map<string, string>();
    const ownerAfterPush = (name: string): string | undefined => {
      const pushed = owners.get(name);
      if (pushed !== undefined) return pushed;
      const holder = this.usernames.get(name);
      // A pushed login gives up the username it had, unless it is pushed with it again.
      if (holder === undefined || pushedRefs.has(holder)) return undefined;
      const deletedByThisPush = previousRefs.has(holder) && this.logins.get(holder)?.clients.size === 1;
      return deletedByThisPush ? undefined : holder;
    };
    for (const user of push.users) {
      const owner = ownerAfterPush(username(user.email));
      if (owner !== undefined) {
        const known = plan.resolved.get(user.ref) !== undefined;
        throw new ClientOnlineSimulatorError(
          409,
          'username-taken',
          `The username of ${known ? 'login' : 'new login'} ${user.ref} is already taken by login ${owner}`,
        );
      }
      owners.set(username(user.email), user.ref);
    }
  }

  /** The login loses this client; a login left without any client is deleted. */
  private revoke(ref: string, clientNumber: string): void {
    const login = this.logins.get(ref);
    if (login === undefined) return;
    login.clients.delete(clientNumber);
    if (login.clients.size === 0) {
      this.logins.delete(ref);
      this.releaseUsername(login);
    }
  }

  /** Frees the login's username, unless another login of the same push has taken it meanwhile. */
  private releaseUsername(login: Login): void {
    const name = username(login.email);
    if (this.usernames.get(name) === login.ref) this.usernames.delete(name);
  }

  private client(clientNumber: string): SimulatedClient {
    assertClientNumber(clientNumber);
    const client = this.clients.get(clientNumber);
    if (client === undefined) throw new ClientOnlineSimulatorError(404, 'not-found', `Client ${clientNumber} not found`);
    return client;
  }

  private view(client: SimulatedClient): CoClient {
    const { users, ...fields } = client;
    return structuredClone({
      ...fields,
      users: users.map((ref): CoUser => {
        const login = this.logins.get(ref);
        if (login === undefined) throw new ClientOnlineSimulatorError(500, 'internal', 'A client user has no login');
        const { clients: _clients, ...user } = login;
        return user;
      }),
    });
  }
}

const simLoadSchema = z.strictObject({
  clients: z.array(z.looseObject({ clientNumber: z.string() })),
});
const simLookupSchema = z.strictObject({ clients: z.array(z.string()).default([]) });

function parsePush(body: unknown): CoClientPushParsed {
  const parsed = coClientPushSchema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const messages = parsed.error.issues.map((issue) => {
    const field = issue.path.join('.');
    return field === '' || issue.message.startsWith(field) ? issue.message : `${field}: ${issue.message}`;
  });
  throw invalid(messages.join('; '));
}

function invalid(message: string): ClientOnlineSimulatorError {
  return new ClientOnlineSimulatorError(400, 'invalid', message);
}

function assertClientNumber(clientNumber: string): void {
  if (!coClientNumberPattern.test(clientNumber)) {
    throw invalid('clientNumber must be 1 to 20 letters, digits, dots, dashes or underscores');
  }
}

function integerParameter(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^-?\d+$/.test(value)) throw invalid(`${name} must be a whole number`);
  return Number(value);
}
