import { setTimeout as sleep } from 'node:timers/promises';
import { CaseWareClient } from '../src/portals/caseware/client';
import { ClientOnlineClient } from '../src/portals/client-online/client';
import type { CwEntity, CwUser } from '../src/portals/caseware/api';
import type { CoClient } from '../src/portals/client-online/api';
import {
  cpuDelta,
  cpuSnapshot,
  expectApi,
  letRateLimitsRefill,
  portalCalls,
  portalCallsDelta,
  round,
  RssSampler,
  simHook,
  type BenchContext,
  type CallSummary,
  type CpuUse,
} from './context';
import { countHistories, perChange } from './history';

// Sections 3 and 4: new clients with their contacts, linked to both portals, from nothing to fully
// provisioned, once through the service (the API; the syncs do the rest) and once as a plain loop of
// direct HTTP calls into the same simulators (no registry, no Temporal): the limit the rate limits
// and the simulators set. Objects: per client its CaseWare entity and contact users, its Client
// Online client and logins (shares are made too, and not counted).

const pollMs = 200;
const provisionTimeoutMs = 600_000;

interface NewClient {
  clientNumber: string;
  contacts: { email: string; firstName: string; lastName: string }[];
}

function newClients(prefix: string, count: number, contacts: number): NewClient[] {
  return Array.from({ length: count }, (_, i) => {
    const clientNumber = `${prefix}${String(i + 1).padStart(6, '0')}`;
    return {
      clientNumber,
      contacts: Array.from({ length: contacts }, (__, j) => ({
        email: `${clientNumber.toLowerCase()}-${j + 1}@new.bench.example`,
        firstName: `New${j + 1}`,
        lastName: `Client ${clientNumber}`,
      })),
    };
  });
}

function companyFields(client: NewClient) {
  return { name: `New Client ${client.clientNumber}`, address: 'Nieuwstraat 1', postcode: '3511 AB', city: 'Utrecht', country: 'Nederland', phone: '030-1234567', email: `info@${client.clientNumber.toLowerCase()}.bench.example` };
}

/** Objects a client has in the portals once provisioned: entity + users, client + logins. */
function objectsOf(client: NewClient): number {
  return 2 + 2 * client.contacts.length;
}

/** Runs `work` for every item, `concurrency` at a time. */
async function eachLimited<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

export interface ProvisioningSection {
  clients: number;
  contactsPerClient: number;
  concurrency: number;
  objects: number;
  /** From the first API call until both portals held everything. */
  seconds: number;
  objectsPerSecond: number;
  /** How long creating the registry records through the API took. */
  apiSeconds: number;
  /** Per portal: until it held all of its objects. */
  portalSeconds: { caseware: number | null; clientOnline: number | null };
  /** Per client: from its creation until both portals held it. */
  clientSecondsP50: number;
  clientSecondsMax: number;
  simulatorCalls: { caseware: CallSummary; clientOnline: CallSummary };
  callsPerObject: number;
  history: ReturnType<typeof perChange>;
  syncErrorsAfter: number;
  cpu: CpuUse;
  serviceMaxRssMiB: number;
  complete: boolean;
}

export interface DirectSection {
  clients: number;
  contactsPerClient: number;
  concurrency: number;
  objects: number;
  seconds: number;
  objectsPerSecond: number;
  simulatorCalls: { caseware: CallSummary; clientOnline: CallSummary };
  callsPerObject: number;
  cpu: CpuUse;
}

/** Which clients each simulator holds in full: entity, users shared with it; client with every login. */
async function provisioned(context: BenchContext, pending: readonly NewClient[]): Promise<{ caseware: Set<string>; clientOnline: Set<string> }> {
  const [cw, co] = await Promise.all([
    simHook<{ entities: Record<string, CwEntity>; users: Record<string, CwUser>; roleAssignments: Record<string, { userId: string }[]> }>(
      context.simulators.caseware.origin,
      'POST',
      'lookup',
      { entityNumbers: pending.map((c) => c.clientNumber), emails: pending.flatMap((c) => c.contacts.map((contact) => contact.email)) },
    ),
    simHook<{ clients: Record<string, CoClient> }>(context.simulators.clientOnline.origin, 'POST', 'lookup', { clients: pending.map((c) => c.clientNumber) }),
  ]);
  const caseware = new Set<string>();
  const clientOnline = new Set<string>();
  for (const client of pending) {
    const entity = cw.entities[client.clientNumber];
    const shared = new Set((entity ? cw.roleAssignments[entity.CWGuid] ?? [] : []).map((a) => a.userId));
    if (entity && client.contacts.every((c) => cw.users[c.email] !== undefined && shared.has(cw.users[c.email]!.CWGuid))) caseware.add(client.clientNumber);
    const pushed = co.clients[client.clientNumber];
    const emails = new Set(pushed?.users.map((u) => u.email));
    if (pushed && client.contacts.every((c) => emails.has(c.email))) clientOnline.add(client.clientNumber);
  }
  return { caseware, clientOnline };
}

export async function provisioningSection(
  context: BenchContext,
  options: { clients: number; contacts: number; concurrency: number; historySample: number },
): Promise<ProvisioningSection> {
  const clients = newClients('P', options.clients, options.contacts);
  const objects = clients.reduce((sum, c) => sum + objectsOf(c), 0);
  await letRateLimitsRefill(context);
  context.log(`provisioning: ${clients.length} clients × ${options.contacts} contacts through the API, ${options.concurrency} at a time ...`);
  const calls0 = await portalCalls(context);
  const cpu0 = cpuSnapshot(context);
  const rss = new RssSampler(context.service.pid).start();
  const createdAt = new Map<string, number>();
  const doneAt = { caseware: new Map<string, number>(), clientOnline: new Map<string, number>() };
  let creating = true;
  const start = Date.now();
  const watcher = (async () => {
    while (Date.now() - start < provisionTimeoutMs) {
      const pending = clients.filter((c) => createdAt.has(c.clientNumber) && !(doneAt.caseware.has(c.clientNumber) && doneAt.clientOnline.has(c.clientNumber)));
      if (pending.length === 0 && !creating) return;
      if (pending.length > 0) {
        const held = await provisioned(context, pending);
        const now = Date.now();
        for (const portal of ['caseware', 'clientOnline'] as const) {
          for (const number of held[portal]) if (!doneAt[portal].has(number)) doneAt[portal].set(number, now);
        }
      }
      await sleep(pollMs);
    }
  })();
  await eachLimited(clients, options.concurrency, async (client) => {
    await expectApi(context, 'POST', '/clients', {
      clientNumber: client.clientNumber,
      kind: 'company',
      ...companyFields(client),
      links: { caseware: true, clientOnline: true },
    });
    for (const contact of client.contacts) {
      await expectApi(context, 'POST', `/clients/${client.clientNumber}/contacts`, { ...contact, links: { caseware: true, clientOnline: true } });
    }
    createdAt.set(client.clientNumber, Date.now());
  });
  const apiSeconds = (Date.now() - start) / 1000;
  creating = false;
  await watcher;
  const cpu = cpuDelta(cpuSnapshot(context), cpu0);
  const serviceMaxRssMiB = rss.stop();
  const calls = portalCallsDelta(await portalCalls(context), calls0);
  const complete = clients.every((c) => doneAt.caseware.has(c.clientNumber) && doneAt.clientOnline.has(c.clientNumber));
  const lastOf = (portal: 'caseware' | 'clientOnline') => (doneAt[portal].size === clients.length ? (Math.max(...doneAt[portal].values()) - start) / 1000 : null);
  const cw = lastOf('caseware');
  const co = lastOf('clientOnline');
  const seconds = cw !== null && co !== null ? Math.max(cw, co) : Number.NaN;
  const perClient = clients
    .filter((c) => doneAt.caseware.has(c.clientNumber) && doneAt.clientOnline.has(c.clientNumber))
    .map((c) => (Math.max(doneAt.caseware.get(c.clientNumber)!, doneAt.clientOnline.get(c.clientNumber)!) - createdAt.get(c.clientNumber)!) / 1000)
    .sort((a, b) => a - b);
  const sample = clients.slice(0, options.historySample).map((c) => `client-${c.clientNumber}`);
  const history = perChange(await countHistories(context.temporal.client, sample), 1 + options.contacts);
  const [errors] = await context.db('sync_errors').whereNull('resolved_at').whereLike('client_number', 'P%').count<{ n: string }[]>({ n: '*' });
  return {
    clients: clients.length,
    contactsPerClient: options.contacts,
    concurrency: options.concurrency,
    objects,
    seconds: round(seconds),
    objectsPerSecond: round(objects / seconds, 1),
    apiSeconds: round(apiSeconds),
    portalSeconds: { caseware: cw === null ? null : round(cw), clientOnline: co === null ? null : round(co) },
    clientSecondsP50: round(perClient[Math.floor(perClient.length / 2)] ?? Number.NaN),
    clientSecondsMax: round(perClient[perClient.length - 1] ?? Number.NaN),
    simulatorCalls: calls,
    callsPerObject: round((calls.caseware.reads + calls.caseware.writes + calls.clientOnline.reads + calls.clientOnline.writes) / objects, 2),
    history,
    syncErrorsAfter: Number(errors?.n ?? 0),
    cpu,
    serviceMaxRssMiB,
    complete,
  };
}

/**
 * The same objects written straight into the simulators with the portal clients (which wait out
 * 429s as the service does), `concurrency` clients at a time: per client the entity, each contact
 * user, one share of them all, and one Client Online push, the two portals at once.
 */
export async function directSection(context: BenchContext, options: { clients: number; contacts: number; concurrency: number }): Promise<DirectSection> {
  const { caseware: cwSim, clientOnline: coSim } = context.simulators;
  const caseware = new CaseWareClient({ baseUrl: cwSim.baseUrl, clientId: cwSim.clientId, clientSecret: cwSim.clientSecret });
  const clientOnline = new ClientOnlineClient({ baseUrl: coSim.baseUrl, apiKey: coSim.apiKey });
  const clients = newClients('D', options.clients, options.contacts);
  const objects = clients.reduce((sum, c) => sum + objectsOf(c), 0);
  const role = await caseware.findRoleByName(context.contactRoleName);
  if (!role) throw new Error(`the CaseWare simulator has no role ${context.contactRoleName}`);
  await letRateLimitsRefill(context);
  context.log(`direct loop: the same ${objects} objects straight into the simulators, ${options.concurrency} clients at a time ...`);
  const calls0 = await portalCalls(context);
  const cpu0 = cpuSnapshot(context);
  const start = Date.now();
  await eachLimited(clients, options.concurrency, async (client) => {
    const fields = companyFields(client);
    await Promise.all([
      (async () => {
        const entity = await caseware.createEntity({
          Name: fields.name, EntityNo: client.clientNumber, Address: fields.address, PostalCode: fields.postcode, City: fields.city,
          Country: fields.country, Phone: fields.phone, Email: fields.email, Website: null, Facebook: null, Twitter: null, LinkedIn: null,
        });
        const users: string[] = [];
        for (const contact of client.contacts) {
          const user = await caseware.createContact({
            FirstName: contact.firstName, MiddleName: null, LastName: contact.lastName, Initials: null, Email: contact.email, Phone: null, MobilePhone: null,
          });
          users.push(user.CWGuid);
        }
        await caseware.shareEntity(entity.CWGuid, users, role.CWGuid);
      })(),
      clientOnline.pushClient(client.clientNumber, {
        name: fields.name, kind: 'company', address: fields.address, postcode: fields.postcode, city: fields.city, country: fields.country,
        phone: fields.phone, email: fields.email,
        users: client.contacts.map((contact, j) => ({ ref: `d-${client.clientNumber}-${j + 1}`, firstName: contact.firstName, infix: null, lastName: contact.lastName, initials: null, email: contact.email, mobile: null })),
      }),
    ]);
  });
  const seconds = (Date.now() - start) / 1000;
  const cpu = cpuDelta(cpuSnapshot(context), cpu0);
  const calls = portalCallsDelta(await portalCalls(context), calls0);
  return {
    clients: clients.length,
    contactsPerClient: options.contacts,
    concurrency: options.concurrency,
    objects,
    seconds: round(seconds),
    objectsPerSecond: round(objects / seconds, 1),
    simulatorCalls: calls,
    callsPerObject: round((calls.caseware.reads + calls.caseware.writes + calls.clientOnline.reads + calls.clientOnline.writes) / objects, 2),
    cpu,
  };
}
