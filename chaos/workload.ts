import { mulberry32 } from '../src/simulators/caseware/simulator';

// The chaos run's workload, through the HTTP API only: a firm of linked companies with contacts on
// both portals, persons followed at several companies, contacts that are the master of contacts
// elsewhere; then, until the run's end, field edits, master edits, link switches, new and deleted
// contacts, contacts registered again with a deleted contact's email, followers asked for a person
// an offboarding holds (refused), resyncs, offboardings of every kind (some with a step a portal is
// made to refuse once) and reconcile runs, several at once.
//
// What it keeps is a model of the registry that is just enough to know that no Client Online login
// may ever be created twice: a login (`ref`) is deleted when no client carries it any more, and a
// later push would rightly create it again with a second mail. So the edits that change who sees
// which client (link switches, deletions, offboardings) run one at a time, and none of them ever
// gives a client to a login that has none at that moment, or to one an offboarding has touched.
// Every login is then created exactly once, and every second credentials mail is a bug.

export interface ApiAnswer {
  status: number;
  body: unknown;
}
export type Api = (method: string, path: string, body?: unknown) => Promise<ApiAnswer>;

/** A scripted refusal at a portal's simulator (its `/_sim/script`): the next matching call is answered 422. */
export type RefuseNext = (portal: 'caseware' | 'clientOnline', call: { method: 'PATCH' | 'DELETE'; path: string }) => Promise<void>;

type Links = { caseware: boolean; clientOnline: boolean };
type Status = 'client' | 'suspect' | 'former';

interface ModelClient {
  clientNumber: string;
  id: number;
  kind: 'company' | 'person';
  status: Status;
  links: Links;
  /** An offboarding's plan holds it (link, master and status changes are refused meanwhile). */
  locked: boolean;
  /** Was in an offboarding's plan: never switched on again. */
  frozen: boolean;
}

interface ModelContact {
  id: number;
  clientNumber: string;
  masterClientId: number | null;
  masterContactId: number | null;
  links: Links;
  deleted: boolean;
  /** Registered without email, a conflict for both portals on purpose. */
  noEmail: boolean;
  email: string | null;
  /** Deleted, and registered again since with its email (at most once). */
  reRegistered?: boolean;
  locked: boolean;
  frozen: boolean;
}

export interface WorkloadSize {
  companies: number;
  contactsPerCompany: readonly [number, number];
  persons: number;
  followedAt: readonly [number, number];
  contactMasters: number;
  /** Requests at once during the storm. */
  concurrency: number;
  /** The storm's pace. */
  editsPerSecond: number;
  /** At most one offboarding started per this many ms (and at most 6 running). */
  offboardingEveryMs: number;
  /** At most one reconcile run started per this many ms. */
  reconcileEveryMs: number;
}

export interface OffboardingStarted {
  id: number;
  kind: string;
  steps: number;
}

export interface WorkloadFigures {
  changes: Record<string, number>;
  refused: Record<string, number>;
  /** Answers the workload did not expect (a violation unless explained). */
  unexpected: string[];
  offboardings: OffboardingStarted[];
  approvals: number;
  /** Offboarding steps a portal was made to refuse, and resyncs an operator asked for after reading the refusal. */
  refusalsInjected: number;
  refusalsSeen: number;
  reconcileRuns: number[];
}

const both: Links = { caseware: true, clientOnline: true };

export class Workload {
  readonly clients = new Map<string, ModelClient>();
  readonly contacts = new Map<number, ModelContact>();
  /** Logins an offboarding touched, or that were left with no client: never given a client again. */
  private readonly closedRefs = new Set<string>();
  readonly figures: WorkloadFigures = {
    changes: {}, refused: {}, unexpected: [], offboardings: [], approvals: 0, refusalsInjected: 0, refusalsSeen: 0, reconcileRuns: [],
  };
  private readonly random: () => number;
  private unique = 0;
  private membership: Promise<unknown> = Promise.resolve();
  private readonly running = new Set<number>();
  private lastReconcileAt = 0;
  private lastOffboardingAt = 0;
  private lastFullResyncAt = 0;
  private resyncs = 0;

  constructor(
    private readonly api: Api,
    /** The same API with a second operator token: four eyes refuses an approval by the token that asked. */
    private readonly approverApi: Api,
    seed: number,
    private readonly size: WorkloadSize,
    private readonly log: (line: string) => void,
    private readonly refuseNext?: RefuseNext,
  ) {
    this.random = mulberry32(seed);
  }

  private between(low: number, high: number): number {
    return low + Math.floor(this.random() * (high - low + 1));
  }
  private pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[Math.floor(this.random() * items.length)];
  }
  private fresh(): number {
    return (this.unique += 1);
  }
  private count(table: Record<string, number>, key: string): void {
    table[key] = (table[key] ?? 0) + 1;
  }

  /** Person clients by number, with their registry ids (for the privacy rule). */
  personClients(): Map<string, number> {
    return new Map([...this.clients.values()].filter((c) => c.kind === 'person').map((c) => [c.clientNumber, c.id]));
  }

  // ----- answers -----------------------------------------------------------------------------

  /**
   * Counts an answer. A 5xx is what a dropped database connection or a Temporal restart may give
   * an API call: the write may or may not have committed, and the model reads the record again.
   * A 409 naming an offboarding is the lock working. Anything else is unexpected.
   */
  private outcome(op: string, answer: ApiAnswer, expected: number[]): 'ok' | 'refused' | 'unknown' {
    if (expected.includes(answer.status)) {
      this.count(this.figures.changes, op);
      return 'ok';
    }
    if (answer.status >= 500 || answer.status === 0) {
      this.count(this.figures.refused, `${op}: ${answer.status}`);
      return 'unknown';
    }
    if (answer.status === 409 && /offboarding/i.test(JSON.stringify(answer.body))) {
      this.count(this.figures.refused, `${op}: 409 offboarding`);
      return 'refused';
    }
    this.figures.unexpected.push(`${op}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`);
    return 'refused';
  }

  private async call(method: string, path: string, body?: unknown): Promise<ApiAnswer> {
    try {
      return await this.api(method, path, body);
    } catch (error) {
      return { status: 0, body: { error: String(error) } };
    }
  }

  /** Creates, and tries again after an answer that says nothing (the write may have committed). */
  private async create(op: string, path: string, body: Record<string, unknown>, find: () => Promise<number | undefined>): Promise<number> {
    for (let attempt = 1; ; attempt += 1) {
      const answer = await this.call('POST', path, body);
      const result = this.outcome(op, answer, [201]);
      if (result === 'ok') return (answer.body as { id: number }).id;
      if (result === 'refused' || attempt >= 20) throw new Error(`${op} ${path}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`);
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
      const id = await find().catch(() => undefined);
      if (id !== undefined) {
        this.count(this.figures.changes, op);
        return id;
      }
    }
  }

  // ----- the firm ----------------------------------------------------------------------------

  async register(): Promise<void> {
    const companies = Array.from({ length: this.size.companies }, (_, i) => String(10001 + i));
    const plans = companies.map((clientNumber) => ({ clientNumber, contacts: this.between(...this.size.contactsPerCompany) }));
    await inParallel(plans, Math.min(8, this.size.concurrency), async ({ clientNumber, contacts }) => {
      const id = await this.create('register company', '/clients', {
        clientNumber, kind: 'company', name: `Chaos ${clientNumber} B.V.`, city: 'Zwolle', email: `info@c${clientNumber}.test`, links: both,
      }, () => this.clientId(clientNumber));
      this.clients.set(clientNumber, { clientNumber, id, kind: 'company', status: 'client', links: { ...both }, locked: false, frozen: false });
      for (let i = 0; i < contacts; i += 1) await this.newContact(clientNumber, this.random() < 0.03);
    });
    const persons = Array.from({ length: this.size.persons }, (_, i) => String(20001 + i));
    await inParallel(persons, Math.min(6, this.size.concurrency), async (clientNumber) => {
      const n = this.fresh();
      const id = await this.create('register person', '/clients', {
        clientNumber, kind: 'person', name: `P. Persoon ${n}`, firstName: `Pers${n}`, lastName: `Oon${n}`,
        privateEmail: `person${n}@home.test`, correspondenceEmailPreference: 'private', bsn: String(100000000 + n), links: both,
      }, () => this.clientId(clientNumber));
      this.clients.set(clientNumber, { clientNumber, id, kind: 'person', status: 'client', links: { ...both }, locked: false, frozen: false });
      const at = [...companies].sort(() => this.random() - 0.5).slice(0, this.between(...this.size.followedAt));
      for (const company of at) await this.newFollower(company, { clientNumber }, { masterClientId: id, masterContactId: null });
    });
    const masters = [...this.contacts.values()].filter((c) => c.masterClientId === null && c.masterContactId === null && !c.noEmail)
      .slice(0, this.size.contactMasters);
    for (const master of masters) {
      const at = companies.filter((c) => c !== master.clientNumber).sort(() => this.random() - 0.5).slice(0, this.between(...this.size.followedAt));
      for (const company of at) await this.newFollower(company, { contactId: master.id }, { masterClientId: null, masterContactId: master.id });
    }
  }

  private async clientId(clientNumber: string): Promise<number | undefined> {
    const answer = await this.call('GET', `/clients/${clientNumber}`);
    return answer.status === 200 ? (answer.body as { id: number }).id : undefined;
  }

  /** Finds a contact created by an attempt whose answer was lost, by its email. */
  private async contactByEmail(clientNumber: string, email: string | undefined): Promise<number | undefined> {
    if (!email) return undefined;
    const answer = await this.call('GET', `/clients/${clientNumber}`);
    if (answer.status !== 200) return undefined;
    const found = (answer.body as { contacts: { id: number; email: string | null }[] }).contacts.find((c) => c.email === email);
    return found?.id;
  }

  private async newContact(clientNumber: string, noEmail: boolean): Promise<void> {
    const n = this.fresh();
    const email = noEmail ? undefined : `contact${n}@chaos.test`;
    const id = await this.create('new contact', `/clients/${clientNumber}/contacts`, {
      firstName: `Voor${n}`, lastName: `Achter${n}`, ...(email ? { email } : {}), phone: `030-${n}`, links: both,
    }, () => this.contactByEmail(clientNumber, email));
    this.contacts.set(id, { id, clientNumber, masterClientId: null, masterContactId: null, links: { ...both }, deleted: false, noEmail, email: email ?? null, locked: false, frozen: false });
  }

  private async newFollower(company: string, master: Record<string, unknown>, masters: { masterClientId: number | null; masterContactId: number | null }): Promise<void> {
    const email = `follower${this.fresh()}@chaos.test`;
    const id = await this.create('new follower', `/clients/${company}/contacts`, { master, email, links: both }, () => this.contactByEmail(company, email));
    this.contacts.set(id, { id, clientNumber: company, ...masters, links: { ...both }, deleted: false, noEmail: false, email, locked: false, frozen: false });
  }

  // ----- which login a record carries --------------------------------------------------------

  private clientCarries(client: ModelClient | undefined): boolean {
    return !!client && client.status === 'client' && client.links.clientOnline;
  }
  private contactCarries(contact: ModelContact): boolean {
    return !contact.deleted && !contact.noEmail && contact.links.clientOnline && this.clientCarries(this.clients.get(contact.clientNumber));
  }
  private refOf(contact: ModelContact): string {
    if (contact.masterClientId !== null) return `p-${contact.masterClientId}`;
    if (contact.masterContactId !== null) return `c-${contact.masterContactId}`;
    return `c-${contact.id}`;
  }
  /** How many clients carry the login now, as the model has the registry. */
  private holders(ref: string): number {
    let n = 0;
    if (ref.startsWith('p-')) {
      const person = [...this.clients.values()].find((c) => `p-${c.id}` === ref);
      if (this.clientCarries(person)) n += 1;
    }
    for (const contact of this.contacts.values()) if (this.refOf(contact) === ref && this.contactCarries(contact)) n += 1;
    return n;
  }
  /** After a membership edit: a login left with no client is closed for good. */
  private closeEmptyLogins(): void {
    const refs = new Set<string>([
      ...[...this.clients.values()].filter((c) => c.kind === 'person').map((c) => `p-${c.id}`),
      ...[...this.contacts.values()].map((c) => this.refOf(c)),
    ]);
    for (const ref of refs) if (!this.closedRefs.has(ref) && this.holders(ref) === 0) this.closedRefs.add(ref);
  }
  /** Whether giving this login one more client can never make Client Online create it again. */
  private mayGrow(ref: string): boolean {
    return !this.closedRefs.has(ref) && this.holders(ref) > 0;
  }

  /** Runs a membership edit after the previous one, then closes the logins it left empty. */
  private membershipEdit<T>(edit: () => Promise<T>): Promise<T> {
    const done = this.membership.then(async () => {
      try {
        return await edit();
      } finally {
        this.closeEmptyLogins();
      }
    });
    this.membership = done.catch(() => undefined);
    return done;
  }

  /** Reads a client and its contacts back into the model (after an answer that said nothing). */
  private async reread(clientNumber: string): Promise<void> {
    const answer = await this.call('GET', `/clients/${clientNumber}`);
    if (answer.status !== 200) return;
    const body = answer.body as {
      status: Status;
      links: Links;
      contacts: { id: number; links: Links; email: string | null; masterClientId: number | null; masterContactId: number | null }[];
    };
    const client = this.clients.get(clientNumber);
    if (client) Object.assign(client, { status: body.status, links: body.links });
    const live = new Set<number>();
    for (const read of body.contacts) {
      live.add(read.id);
      const contact = this.contacts.get(read.id);
      if (contact) Object.assign(contact, { links: read.links, email: read.email, masterClientId: read.masterClientId, masterContactId: read.masterContactId });
    }
    for (const contact of this.contacts.values()) if (contact.clientNumber === clientNumber && !live.has(contact.id)) contact.deleted = true;
  }

  // ----- the storm ---------------------------------------------------------------------------

  /**
   * Edits until `until`, up to `concurrency` at a time and at most `editsPerSecond`: a pace the
   * machine can carry, so that the run measures faults and crashes, not a backlog growing without end.
   */
  async storm(until: number): Promise<void> {
    const interval = 1000 / this.size.editsPerSecond;
    let next = Date.now();
    await Promise.all(Array.from({ length: this.size.concurrency }, async () => {
      while (Date.now() < until) {
        const slot = next;
        next += interval;
        if (slot > Date.now()) await new Promise((resolve) => setTimeout(resolve, slot - Date.now()));
        if (Date.now() >= until) break;
        try {
          await this.oneEdit();
        } catch (error) {
          this.figures.unexpected.push(`edit failed: ${String(error).slice(0, 300)}`);
        }
      }
    }));
    await this.membership;
  }

  private async oneEdit(): Promise<void> {
    const roll = this.random();
    const n = this.fresh();
    const clients = [...this.clients.values()];
    const contacts = [...this.contacts.values()].filter((c) => !c.deleted);
    if (roll < 0.19) {
      const client = this.pick(clients);
      if (!client) return;
      const patch = client.kind === 'company' ? { city: `Stad${n}`, phone: `038-${n}` } : { phone: `038-${n}` };
      this.outcome('client fields', await this.call('PATCH', `/clients/${client.clientNumber}`, patch), [200]);
    } else if (roll < 0.41) {
      const contact = this.pick(contacts);
      if (!contact) return;
      const follows = contact.masterClientId !== null || contact.masterContactId !== null;
      const patch = contact.noEmail
        ? { phone: `030-${n}` }
        : follows
          ? this.pick([{ mobile: `06-${n}` }, { email: `follower${n}@chaos.test` }, { phone: `030-${n}` }])
          : this.pick([{ lastName: `Achter${n}` }, { mobile: `06-${n}` }, { email: `contact${n}@chaos.test` }, { firstName: `Voor${n}`, phone: `030-${n}` }]);
      const result = this.outcome('contact fields', await this.call('PATCH', `/contacts/${contact.id}`, patch), [200]);
      if (patch && 'email' in patch) {
        if (result === 'ok') contact.email = patch.email ?? null;
        if (result === 'unknown') await this.reread(contact.clientNumber);
      }
    } else if (roll < 0.51) {
      const person = this.pick(clients.filter((c) => c.kind === 'person'));
      if (!person) return;
      const patch = this.pick([{ lastName: `Oon${n}` }, { firstName: `Pers${n}`, privateMobile: `06-${n}` }, { residentialCity: `Woonplaats${n}` }, { privateEmail: `person${n}@home.test` }]);
      this.outcome('master edit (person)', await this.call('PATCH', `/clients/${person.clientNumber}`, patch), [200]);
    } else if (roll < 0.55) {
      const masters = contacts.filter((c) => contacts.some((f) => f.masterContactId === c.id));
      const master = this.pick(masters);
      if (!master) return;
      this.outcome('master edit (contact)', await this.call('PATCH', `/contacts/${master.id}`, this.pick([{ lastName: `Meester${n}` }, { firstName: `Voor${n}` }])), [200]);
    } else if (roll < 0.73) {
      await this.membershipEdit(() => this.switchContact());
    } else if (roll < 0.79) {
      await this.membershipEdit(() => this.switchClient());
    } else if (roll < 0.83) {
      const company = this.pick(clients.filter((c) => c.kind === 'company' && c.status === 'client' && !c.frozen));
      if (company) await this.newContact(company.clientNumber, this.random() < 0.05);
    } else if (roll < 0.85) {
      await this.membershipEdit(() => this.deleteContact());
    } else if (roll < 0.865) {
      await this.reRegister();
    } else if (roll < 0.88) {
      await this.followHeldPerson();
    } else if (roll < 0.89) {
      await this.resync();
    } else if (roll < 0.97) {
      await this.membershipEdit(() => this.offboard());
    } else {
      await this.reconcile();
    }
  }

  private async switchContact(): Promise<void> {
    const portal = this.random() < 0.6 ? 'clientOnline' : 'caseware';
    // Half the time a switch back on, among those that may be (see mayGrow), else a switch off.
    const wantOn = this.random() < 0.5;
    const candidates = [...this.contacts.values()].filter((c) => !c.deleted && !c.locked && !c.noEmail && c.links[portal] !== wantOn)
      .filter((c) => !wantOn || (!c.frozen && (portal === 'caseware' || this.mayGrow(this.refOf(c)))));
    const contact = this.pick(candidates);
    if (!contact) return;
    const on = wantOn;
    const answer = await this.call('PUT', `/contacts/${contact.id}/links`, { [portal]: on });
    const result = this.outcome(`contact ${portal === 'caseware' ? 'CaseWare' : 'Client Online'} link ${on ? 'on' : 'off'}`, answer, [200]);
    if (result === 'ok') contact.links[portal] = on;
    if (result === 'unknown') await this.reread(contact.clientNumber);
  }

  private async switchClient(): Promise<void> {
    const client = this.pick([...this.clients.values()].filter((c) => !c.locked && c.status === 'client'));
    if (!client) return;
    if (this.random() < 0.5 && client.kind === 'company') {
      // CaseWare: switching back on re-shares the entity and reactivates the same users, no mail.
      const on = !client.links.caseware;
      if (on && client.frozen) return;
      const answer = await this.call('PUT', `/clients/${client.clientNumber}/links`, { caseware: on });
      const result = this.outcome(`client CaseWare link ${on ? 'on' : 'off'}`, answer, [200]);
      if (result === 'ok') client.links.caseware = on;
      if (result === 'unknown') await this.reread(client.clientNumber);
      return;
    }
    const on = !client.links.clientOnline;
    if (on) {
      if (client.frozen) return;
      // Every login it would carry must be one that has a client now.
      const refs = [
        ...(client.kind === 'person' ? [`p-${client.id}`] : []),
        ...[...this.contacts.values()].filter((c) => c.clientNumber === client.clientNumber && !c.deleted && !c.noEmail && c.links.clientOnline).map((c) => this.refOf(c)),
      ];
      if (!refs.every((ref) => this.mayGrow(ref))) return;
    }
    const answer = await this.call('PUT', `/clients/${client.clientNumber}/links`, { clientOnline: on });
    const result = this.outcome(`client Client Online link ${on ? 'on' : 'off'}`, answer, [200]);
    if (result === 'ok') client.links.clientOnline = on;
    if (result === 'unknown') await this.reread(client.clientNumber);
  }

  private async deleteContact(): Promise<void> {
    // A master keeps its followers' login: only contacts nobody follows are deleted.
    const followed = new Set([...this.contacts.values()].map((c) => c.masterContactId));
    const contact = this.pick([...this.contacts.values()].filter((c) => !c.deleted && !c.locked && !followed.has(c.id)));
    if (!contact) return;
    const answer = await this.call('DELETE', `/contacts/${contact.id}`);
    const result = this.outcome('contact deleted', answer, [200, 204]);
    if (result === 'ok') contact.deleted = true;
    if (result === 'unknown') await this.reread(contact.clientNumber);
  }

  /**
   * The same person registered again after his contact was deleted: a new contact, at another
   * company, with the deleted contact's email, once the deletion has reached CaseWare (until then
   * the address is still the deleted contact's login there, and the new one a conflict). CaseWare
   * only: the new contact adopts the old CaseWare user and reactivates it, which the reconcile must
   * not take for the deleted contact's and deactivate. (On Client Online the new contact is a new
   * login with its own mail; the model keeps such logins out of the way of the mail count.)
   */
  private async reRegister(): Promise<void> {
    const gone = this.pick([...this.contacts.values()].filter((c) => c.deleted && !c.reRegistered && c.email !== null));
    if (!gone?.email) return;
    const status = await this.call('GET', `/sync/clients/${gone.clientNumber}`);
    if (status.status !== 200 || (status.body as { caseware: { state: string } }).caseware.state === 'pending') return;
    const company = this.pick([...this.clients.values()].filter((c) => c.kind === 'company' && c.status === 'client' && !c.frozen && c.clientNumber !== gone.clientNumber));
    if (!company) return;
    gone.reRegistered = true;
    const email = gone.email;
    const links = { caseware: true, clientOnline: false };
    const id = await this.create('contact registered again (same email)', `/clients/${company.clientNumber}/contacts`, {
      firstName: `Terug${this.fresh()}`, lastName: 'Weer', email, links,
    }, () => this.contactByEmail(company.clientNumber, email));
    this.contacts.set(id, { id, clientNumber: company.clientNumber, masterClientId: null, masterContactId: null, links, deleted: false, noEmail: false, email, locked: false, frozen: false });
  }

  /**
   * A follower of a person an offboarding holds (awaiting approval, or running): refused with a
   * 409 that names the offboarding, or the person would keep access the offboarding ends.
   */
  private async followHeldPerson(): Promise<void> {
    const person = this.pick([...this.clients.values()].filter((c) => c.kind === 'person' && c.locked));
    const company = this.pick([...this.clients.values()].filter((c) => c.kind === 'company' && c.status === 'client' && !c.frozen));
    if (!person || !company) return;
    const email = `late${this.fresh()}@chaos.test`;
    const answer = await this.call('POST', `/clients/${company.clientNumber}/contacts`, { master: { clientNumber: person.clientNumber }, email, links: both });
    if (answer.status === 409 && /offboarding/i.test(JSON.stringify(answer.body))) {
      this.count(this.figures.changes, 'new follower of a held person refused');
      return;
    }
    if (answer.status === 201) {
      // Still held? Then the guard let it through; if the offboarding has just finished, it was free to.
      const id = (answer.body as { id: number }).id;
      this.contacts.set(id, { id, clientNumber: company.clientNumber, masterClientId: person.id, masterContactId: null, links: { ...both }, deleted: false, noEmail: false, email, locked: false, frozen: true });
      if (person.locked) this.figures.unexpected.push(`a new follower (contact ${id}) of person client ${person.clientNumber} was accepted while an offboarding held the person`);
      return;
    }
    this.outcome('new follower of a held person', answer, [409]);
  }

  /** An operator's resync: of one client, and every fourth time (at most once in 90 s) of every client. */
  private async resync(): Promise<void> {
    this.resyncs += 1;
    if (this.resyncs % 4 === 0 && Date.now() - this.lastFullResyncAt > 90_000) {
      this.lastFullResyncAt = Date.now();
      this.outcome('resync of every client', await this.call('POST', '/sync/resync'), [202]);
      return;
    }
    const client = this.pick([...this.clients.values()]);
    if (client) this.outcome('resync of a client', await this.call('POST', `/sync/clients/${client.clientNumber}/resync`), [202]);
  }

  // ----- offboardings and reconcile ----------------------------------------------------------

  private offboardingKinds = ['revoke-contact-access', 'person-leaves', 'person-deceased', 'client-leaves'] as const;
  private nextKind = 0;

  private offboardingRequest(): Record<string, unknown> | undefined {
    const kind = this.offboardingKinds[this.nextKind % this.offboardingKinds.length];
    this.nextKind += 1;
    const free = (c: ModelClient) => !c.locked && c.status === 'client';
    const persons = [...this.clients.values()].filter((c) => c.kind === 'person' && free(c));
    switch (kind) {
      case 'revoke-contact-access': {
        const contact = this.pick([...this.contacts.values()].filter((c) => !c.deleted && !c.locked && !c.noEmail && (c.links.caseware || c.links.clientOnline)));
        if (!contact) return undefined;
        // Only a portal it is linked to has access to end (any other is refused, rightly).
        const linked = (['caseware', 'clientOnline'] as const).filter((portal) => contact.links[portal]);
        const portals = this.pick([undefined, ...linked.map((portal) => [portal])]);
        return { kind, contactId: contact.id, ...(portals ? { portals } : {}) };
      }
      case 'person-leaves': {
        const person = this.pick(persons.filter((p) => [...this.contacts.values()].some((c) => c.masterClientId === p.id && !c.deleted)));
        return person && { kind, clientNumber: person.clientNumber };
      }
      case 'person-deceased': {
        const person = this.pick(persons);
        return person && { kind, clientNumber: person.clientNumber };
      }
      default: {
        const company = this.pick([...this.clients.values()].filter((c) => c.kind === 'company' && free(c)));
        return company && { kind: 'client-leaves', clientNumber: company.clientNumber };
      }
    }
  }

  private async offboard(): Promise<void> {
    // A few at a time, spread over the run: each ends a part of the firm for good.
    if (this.running.size >= 6 || Date.now() - this.lastOffboardingAt < this.size.offboardingEveryMs) return;
    this.lastOffboardingAt = Date.now();
    const request = this.offboardingRequest();
    if (!request) return;
    const dryRun = await this.call('POST', '/offboardings', request);
    if (this.outcome('offboarding plan', dryRun, [200]) !== 'ok') return;
    const plan = (dryRun.body as { plan: { clientNumbers: string[]; contactIds: number[]; steps: unknown[] } }).plan;
    // Lock and close what the plan touches before it can act: no switch-on meets it from now on.
    const touched = this.touched(plan.clientNumbers, plan.contactIds);
    for (const record of touched.records) {
      record.locked = true;
      record.frozen = true;
    }
    for (const ref of touched.refs) this.closedRefs.add(ref);
    const started = await this.call('POST', '/offboardings', { ...request, execute: true, reason: 'chaos run' });
    const result = this.outcome(`offboarding ${String(request.kind)}`, started, [202]);
    if (result !== 'ok') {
      // A refused one (another holds a record) or one whose answer was lost: the sweep finds it.
      for (const record of touched.records) record.locked = false;
      return;
    }
    const id = (started.body as { id: number }).id;
    this.figures.offboardings.push({ id, kind: String(request.kind), steps: plan.steps.length });
    this.running.add(id);
    await this.refuseAStep(request);
    void this.follow(id, plan.clientNumbers, touched.records);
  }

  /**
   * Has a portal refuse one change of the offboarding just started (when none is being refused), once: CaseWare the deactivation
   * of the user whose access a revoke-contact-access ends, Client Online the deletion of a company
   * that leaves. The step must then wait, naming the refusal, until a later sync gets the change
   * through (the follower reads the refusal and resyncs the client, as an operator would), and
   * never read done while the access is still there.
   */
  private async refuseAStep(request: Record<string, unknown>): Promise<void> {
    if (!this.refuseNext || this.refusing) return;
    if (request.kind === 'revoke-contact-access') {
      const contact = this.contacts.get(Number(request.contactId));
      const portals = (request.portals as string[] | undefined) ?? ['caseware', 'clientOnline'];
      if (!contact || !contact.links.caseware || !portals.includes('caseware')) return;
      const status = await this.call('GET', `/sync/clients/${contact.clientNumber}`);
      const remote = (status.body as { caseware?: { remote: { recordType: string; recordId: number; remoteId: string | null; access: string }[] } }).caseware?.remote ?? [];
      const user = remote.find((r) => r.recordType === 'contact' && r.recordId === contact.id && r.access === 'active' && r.remoteId);
      if (status.status !== 200 || !user?.remoteId) return;
      await this.refuse('caseware', { method: 'PATCH', path: `^/users/${user.remoteId}$` });
    } else if (request.kind === 'client-leaves') {
      const company = this.clients.get(String(request.clientNumber));
      if (!company?.links.clientOnline) return;
      await this.refuse('clientOnline', { method: 'DELETE', path: `/clients/${company.clientNumber}$` });
    }
  }

  private refusing = false;

  private async refuse(portal: 'caseware' | 'clientOnline', call: { method: 'PATCH' | 'DELETE'; path: string }): Promise<void> {
    this.refusing = true;
    try {
      await this.refuseNext?.(portal, call);
      this.figures.refusalsInjected += 1;
    } catch (error) {
      this.log(`refusal not injected: ${String(error)}`);
    } finally {
      this.refusing = false;
    }
  }

  private touched(clientNumbers: readonly string[], contactIds: readonly number[]): { records: (ModelClient | ModelContact)[]; refs: Set<string> } {
    const numbers = new Set(clientNumbers);
    const records: (ModelClient | ModelContact)[] = [];
    const refs = new Set<string>();
    for (const client of this.clients.values()) {
      if (!numbers.has(client.clientNumber)) continue;
      records.push(client);
      if (client.kind === 'person') refs.add(`p-${client.id}`);
    }
    for (const contact of this.contacts.values()) {
      if (!numbers.has(contact.clientNumber) && !contactIds.includes(contact.id)) continue;
      records.push(contact);
      refs.add(this.refOf(contact));
      refs.add(`c-${contact.id}`);
    }
    return { records, refs };
  }

  /** Follows an offboarding to its end (approving a held one), then reads its records back. */
  private async follow(id: number, clientNumbers: readonly string[], records: (ModelClient | ModelContact)[]): Promise<void> {
    const resynced = new Set<string>();
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const answer = await this.call('GET', `/offboardings/${id}`);
      if (answer.status !== 200) continue;
      const { status, steps } = answer.body as { status: string; steps: { clientNumber: string; refusal?: string | null }[] };
      const refused = steps.find((step) => step.refusal);
      if (refused && !resynced.has(refused.clientNumber)) {
        // What an operator does on reading the refusal: fix the cause (the scripted refusal was for
        // one call), then resync the client so that a sync tries the change again.
        resynced.add(refused.clientNumber);
        this.figures.refusalsSeen += 1;
        this.outcome('resync after a refused step', await this.call('POST', `/sync/clients/${refused.clientNumber}/resync`), [202]);
        continue;
      }
      if (status === 'awaiting-approval') {
        const approved = await this.approverApi('POST', `/offboardings/${id}/approve`, {}).catch((error: unknown) => ({ status: 0, body: { error: String(error) } }));
        if (approved.status < 300) this.figures.approvals += 1;
        continue;
      }
      if (status === 'running') continue;
      break;
    }
    await this.membershipEdit(async () => {
      for (const clientNumber of clientNumbers) await this.reread(clientNumber);
      for (const contact of records) if ('masterClientId' in contact) await this.reread(contact.clientNumber);
      for (const record of records) record.locked = false;
    });
    this.running.delete(id);
  }

  /** Offboardings this run started that have not ended yet. */
  get offboardingsRunning(): number {
    return this.running.size;
  }

  private async reconcile(): Promise<void> {
    // A run reads everything the portals hold, and a client whose change is under way is drift
    // to it (a repair event more): spread them out.
    if (Date.now() - this.lastReconcileAt < this.size.reconcileEveryMs) return;
    this.lastReconcileAt = Date.now();
    const answer = await this.call('POST', '/reconcile', {});
    if (this.outcome('reconcile run', answer, [202]) === 'ok') {
      const id = (answer.body as { id?: number; run?: { id: number } }).id ?? (answer.body as { run?: { id: number } }).run?.id;
      if (typeof id === 'number') this.figures.reconcileRuns.push(id);
    }
    this.log(`reconcile started: ${answer.status}`);
  }
}

/** Runs `work` over `items`, `limit` at a time. */
export async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: limit }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  }));
}
