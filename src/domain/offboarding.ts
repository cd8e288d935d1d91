import type { Client, Contact } from '../registry/schemas';
import { desiredCaseWareState } from './caseware';
import { desiredClientOnlineState, personClientRef, type ClientOnlineMasters } from './client-online';

/**
 * Offboarding (domain.md, "Offboarding: bottom-up, always"; seed article 004): the ordered steps
 * that end access safely, as a pure function of the registry and the operator's request. First the
 * contacts' links go off, then the clients, and only then the master links, so that Client Online
 * never sees a login it does not know and never mails new credentials. The effect of every step
 * is worked out with the same desired-state functions the sync uses, so the plan says what the
 * sync will do.
 */

export type OffboardingPortal = 'caseware' | 'clientOnline';
export const offboardingPortals: readonly OffboardingPortal[] = ['caseware', 'clientOnline'];

export type OffboardingRequest =
  | { kind: 'revoke-contact-access'; contactId: number; portals?: readonly OffboardingPortal[] }
  | { kind: 'person-leaves'; clientNumber: string; companies?: readonly string[] }
  | { kind: 'person-deceased'; clientNumber: string }
  | { kind: 'client-leaves'; clientNumber: string };

export type OffboardingKind = OffboardingRequest['kind'];

/** One registry change; the workflow makes it and waits until the affected portals have applied it. */
export type OffboardingAction =
  | { action: 'contact-links-off'; contactId: number; clientNumber: string; portals: OffboardingPortal[] }
  | { action: 'client-former'; clientNumber: string }
  | { action: 'end-master-link'; contactId: number; clientNumber: string };

export interface PortalEffects {
  caseware: string[];
  clientOnline: string[];
}

/**
 * What a step or plan takes away. `accessEnded` counts every access that ends, per portal: a
 * CaseWare contact losing its client's entity, a Client Online login losing a client (deleted or
 * not). The approval threshold is measured against their sum. `contactAccess` (CaseWare contacts
 * losing access) and `logins` (Client Online logins deleted outright) say the same in the words
 * operators used first; they stay in the API as they were.
 */
export interface Removes {
  contactAccess: number;
  logins: number;
  accessEnded: Record<OffboardingPortal, number>;
}

/** Every access a plan (or step) ends, over both portals: what the approval threshold counts. */
export function accessesEnded(removes: Pick<Removes, 'accessEnded'>): number {
  return removes.accessEnded.caseware + removes.accessEnded.clientOnline;
}

const noRemovals = (): Removes => ({ contactAccess: 0, logins: 0, accessEnded: { caseware: 0, clientOnline: 0 } });

export type OffboardingStep = OffboardingAction & {
  /** 1-based position in the plan. */
  step: number;
  /** What the step does, in words, with record ids and client numbers only. */
  summary: string;
  /** What each portal will do because of it. */
  effects: PortalEffects;
  /** What it takes away. */
  removes: Removes;
  /** The clients whose portal syncs must have applied the change before the next step. */
  awaitClients: string[];
};

export interface OffboardingPlan {
  request: OffboardingRequest;
  steps: OffboardingStep[];
  /** Every client the plan changes (its steps' records); other registrations of a person only keep or lose a login. */
  clientNumbers: string[];
  /** Every contact the plan changes. */
  contactIds: number[];
  /** What the plan takes away: held for approval when its accesses ended pass the firm's threshold. */
  removes: Removes;
}

/** The portals where a plan ends access: those where one of its steps has an effect. */
export function planPortals(plan: Pick<OffboardingPlan, 'steps'>): OffboardingPortal[] {
  return offboardingPortals.filter((portal) => plan.steps.some((step) => step.effects[portal].length > 0));
}

/**
 * The part of the registry a plan needs: the clients and contacts it names, and, for every person
 * involved, the other registrations that share his Client Online login (his person client and his
 * followers' companies), so that the plan can tell which login survives.
 */
export interface RegistrySlice {
  clients: readonly Client[];
  /** Current (not deleted) contacts of the slice's clients. */
  contacts: readonly Contact[];
}

export class OffboardingRequestError extends Error {
  override readonly name = 'OffboardingRequestError';

  constructor(
    readonly code: 'not-found' | 'rule',
    message: string,
  ) {
    super(message);
  }
}

/** The ordered, bottom-up plan for `request`; OffboardingRequestError when the request does not fit the registry. */
export function offboardingPlan(slice: RegistrySlice, request: OffboardingRequest): OffboardingPlan {
  const steps = stepsFor(slice, plannedActions(slice, request));
  const removes = noRemovals();
  for (const step of steps) {
    removes.contactAccess += step.removes.contactAccess;
    removes.logins += step.removes.logins;
    for (const portal of offboardingPortals) removes.accessEnded[portal] += step.removes.accessEnded[portal];
  }
  const clientNumbers = [...new Set(steps.map((s) => s.clientNumber))].sort();
  const contactIds = [...new Set(steps.flatMap((s) => ('contactId' in s ? [s.contactId] : [])))].sort((a, b) => a - b);
  return { request, steps, clientNumbers, contactIds, removes };
}

/** The effect of each action at the portals, applied in the given order (any order: tests show what a wrong one does). */
export function stepsFor(slice: RegistrySlice, actions: readonly OffboardingAction[]): OffboardingStep[] {
  const simulation = new Simulation(slice);
  return actions.map((action, index) => {
    const before = simulation.portalView();
    simulation.apply(action);
    const effects = describeEffects(before, simulation.portalView());
    return {
      ...action,
      step: index + 1,
      summary: summaryOf(action),
      effects: { caseware: effects.caseware, clientOnline: effects.clientOnline },
      removes: {
        contactAccess: effects.contactsLosingAccess,
        logins: effects.loginsDeleted,
        accessEnded: { caseware: effects.contactsLosingAccess, clientOnline: effects.clientOnlineAccessEnded },
      },
      awaitClients: [action.clientNumber],
    };
  });
}

// --- Which steps, in which order ---

function plannedActions(slice: RegistrySlice, request: OffboardingRequest): OffboardingAction[] {
  switch (request.kind) {
    case 'revoke-contact-access': {
      const contact = requireContact(slice, request.contactId);
      const portals = request.portals?.length ? [...new Set(request.portals)] : [...offboardingPortals];
      const linked = portals.filter((portal) => contact.links[portal]);
      if (linked.length === 0) {
        throw new OffboardingRequestError(
          'rule',
          `contact ${contact.id} at client ${contact.clientNumber} is not linked to ${portals.map(portalLabel).join(' or ')}; there is no access to end`,
        );
      }
      return [{ action: 'contact-links-off', contactId: contact.id, clientNumber: contact.clientNumber, portals: linked }];
    }
    case 'person-leaves':
    case 'person-deceased': {
      const person = requireClient(slice, request.clientNumber);
      if (person.kind !== 'person') {
        throw new OffboardingRequestError(
          'rule',
          `client ${person.clientNumber} is a company; "${request.kind}" is for a person client (use "client-leaves" for a company)`,
        );
      }
      const followers = slice.contacts.filter((c) => c.masterClientId === person.id);
      let leaving = followers;
      if (request.kind === 'person-leaves' && request.companies?.length) {
        const companies = [...new Set(request.companies)];
        for (const number of companies) {
          const company = requireClient(slice, number);
          if (!followers.some((f) => f.clientId === company.id)) {
            throw new OffboardingRequestError(
              'rule',
              `person client ${person.clientNumber} has no contact at client ${company.clientNumber} that follows him; ` +
                'name only companies where he is a linked contact',
            );
          }
        }
        leaving = followers.filter((f) => companies.includes(f.clientNumber));
      }
      const actions: OffboardingAction[] = byId(leaving)
        .filter(hasAnyLink)
        .map((c) => ({ action: 'contact-links-off', contactId: c.id, clientNumber: c.clientNumber, portals: linkedPortals(c) }));
      if (person.status !== 'former') actions.push({ action: 'client-former', clientNumber: person.clientNumber });
      for (const contact of byId(leaving)) {
        actions.push({ action: 'end-master-link', contactId: contact.id, clientNumber: contact.clientNumber });
      }
      if (actions.length === 0) {
        throw new OffboardingRequestError('rule', `person client ${person.clientNumber} is already a former client with no followers; there is nothing to end`);
      }
      return actions;
    }
    case 'client-leaves': {
      const company = requireClient(slice, request.clientNumber);
      if (company.kind !== 'company') {
        throw new OffboardingRequestError(
          'rule',
          `client ${company.clientNumber} is a person client; use "person-leaves" or "person-deceased" for a person`,
        );
      }
      if (company.status === 'former') {
        throw new OffboardingRequestError('rule', `client ${company.clientNumber} is already a former client`);
      }
      const actions: OffboardingAction[] = byId(slice.contacts.filter((c) => c.clientId === company.id))
        .filter(hasAnyLink)
        .map((c) => ({ action: 'contact-links-off', contactId: c.id, clientNumber: c.clientNumber, portals: linkedPortals(c) }));
      actions.push({ action: 'client-former', clientNumber: company.clientNumber });
      return actions;
    }
  }
}

function requireContact(slice: RegistrySlice, id: number): Contact {
  const contact = slice.contacts.find((c) => c.id === id);
  if (!contact) throw new OffboardingRequestError('not-found', `contact ${id} does not exist in the registry or has been deleted`);
  return contact;
}

function requireClient(slice: RegistrySlice, clientNumber: string): Client {
  const client = slice.clients.find((c) => c.clientNumber === clientNumber);
  if (!client) throw new OffboardingRequestError('not-found', `client ${clientNumber} does not exist in the registry`);
  return client;
}

const byId = (contacts: readonly Contact[]) => [...contacts].sort((a, b) => a.id - b.id);
const linkedPortals = (contact: Contact) => offboardingPortals.filter((portal) => contact.links[portal]);
const hasAnyLink = (contact: Contact) => linkedPortals(contact).length > 0;
const portalLabel = (portal: OffboardingPortal) => (portal === 'caseware' ? 'CaseWare Cloud' : 'Client Online');

function summaryOf(action: OffboardingAction): string {
  switch (action.action) {
    case 'contact-links-off':
      return `switch the ${action.portals.map(portalLabel).join(' and ')} link of contact ${action.contactId} at client ${action.clientNumber} off`;
    case 'client-former':
      return `make client ${action.clientNumber} a former client`;
    case 'end-master-link':
      return `end the master link of contact ${action.contactId} at client ${action.clientNumber}`;
  }
}

// --- What each step does at the portals ---

interface PortalView {
  /** CaseWare: client number → contact ids with access (absent: the client is not in CaseWare). */
  caseware: Map<string, Set<number>>;
  /** Client Online: login ref → the clients it sees. */
  logins: Map<string, Set<string>>;
  /** Client Online: client number → the contact ids pushed as its users. */
  coUsers: Map<string, Set<number>>;
}

/** The slice as the plan's steps change it, one step at a time. */
class Simulation {
  private readonly clients: Client[];
  private readonly contacts: Contact[];

  constructor(slice: RegistrySlice) {
    this.clients = slice.clients.map((c) => ({ ...c, links: { ...c.links } }));
    this.contacts = slice.contacts.map((c) => ({ ...c, links: { ...c.links } }));
  }

  apply(action: OffboardingAction): void {
    switch (action.action) {
      case 'contact-links-off': {
        const contact = this.contacts.find((c) => c.id === action.contactId);
        if (contact) for (const portal of action.portals) contact.links[portal] = false;
        return;
      }
      case 'client-former': {
        const client = this.clients.find((c) => c.clientNumber === action.clientNumber);
        if (client) client.status = 'former';
        return;
      }
      case 'end-master-link': {
        const contact = this.contacts.find((c) => c.id === action.contactId);
        if (contact) Object.assign(contact, { masterClientId: null, masterContactId: null });
        return;
      }
    }
  }

  portalView(): PortalView {
    const view: PortalView = { caseware: new Map(), logins: new Map(), coUsers: new Map() };
    // Every registration that can be a master, by its login ref, as the Client Online sync loads them.
    const masters: ClientOnlineMasters = new Map<string, Client | Contact>([
      ...this.clients.filter((c) => c.kind === 'person').map((c) => [personClientRef(c), c] as const),
      ...this.contacts.map((c) => [`c-${c.id}`, c] as const),
    ]);
    for (const client of this.clients) {
      const contacts = this.contacts.filter((c) => c.clientId === client.id);
      const cw = desiredCaseWareState(client, contacts);
      if (cw.entity) view.caseware.set(client.clientNumber, new Set(cw.contacts.map((c) => c.contactId)));
      const co = desiredClientOnlineState(client, contacts, masters, { sendBsn: false });
      if (!co.push) continue;
      const refs = new Set(co.push.users.map((u) => u.ref));
      for (const ref of refs) {
        const seen = view.logins.get(ref) ?? new Set<string>();
        seen.add(client.clientNumber);
        view.logins.set(ref, seen);
      }
      view.coUsers.set(client.clientNumber, new Set(contacts.filter((c) => c.links.clientOnline).map((c) => c.id)));
    }
    return view;
  }
}

function describeEffects(before: PortalView, after: PortalView) {
  const caseware: string[] = [];
  const clientOnline: string[] = [];
  let contactsLosingAccess = 0;
  let loginsDeleted = 0;
  /** (login, client) pairs that end: a login losing a client, whether or not it is deleted. */
  let clientOnlineAccessEnded = 0;

  for (const [clientNumber, contactIds] of before.caseware) {
    const remaining = after.caseware.get(clientNumber);
    for (const id of contactIds) {
      if (remaining?.has(id)) continue;
      caseware.push(`contact ${id} loses access to client ${clientNumber}; its CaseWare user is deactivated`);
      contactsLosingAccess += 1;
    }
    if (!remaining) caseware.push(`client ${clientNumber} is no longer sent to CaseWare Cloud`);
  }

  for (const clientNumber of before.coUsers.keys()) {
    if (!after.coUsers.has(clientNumber)) clientOnline.push(`client ${clientNumber} is deleted from Client Online`);
  }
  for (const [ref, clients] of before.logins) {
    const remaining = after.logins.get(ref) ?? new Set<string>();
    const lost = [...clients].filter((n) => !remaining.has(n)).sort();
    if (lost.length === 0) continue;
    clientOnlineAccessEnded += lost.length;
    if (remaining.size === 0) {
      clientOnline.push(`login ${ref} loses ${lost.map((n) => `client ${n}`).join(', ')} and is deleted`);
      loginsDeleted += 1;
    } else {
      clientOnline.push(`login ${ref} loses ${lost.map((n) => `client ${n}`).join(', ')}; keeps ${[...remaining].sort().map((n) => `client ${n}`).join(', ')}`);
    }
  }
  for (const [ref, clients] of after.logins) {
    // A bottom-up plan never shows Client Online a login it does not know; say so loudly if one would.
    if (!before.logins.has(ref)) clientOnline.push(`NEW login ${ref} for ${[...clients].sort().map((n) => `client ${n}`).join(', ')}: Client Online would mail new credentials`);
  }
  const orNoChange = (lines: string[]) => (lines.length > 0 ? lines : ['no change']);
  return { caseware: orNoChange(caseware), clientOnline: orNoChange(clientOnline), contactsLosingAccess, loginsDeleted, clientOnlineAccessEnded };
}
