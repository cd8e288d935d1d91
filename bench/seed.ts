import { randomUUID } from 'node:crypto';
import type { Db } from '../src/db';
import { desiredCaseWareState } from '../src/domain/caseware';
import { desiredClientOnlineState } from '../src/domain/client-online';
import { loadClientsPage } from '../src/registry/bulk-reads';

/** Where the simulators' test hooks are (their origins). */
export interface SimulatorOrigins {
  caseware: { origin: string };
  clientOnline: { origin: string };
}

// Seeds a firm of many clients directly, far faster than provisioning it: registry rows with SQL,
// the portals through the simulators' `/_sim/load`, and the ledger as the syncs would have left it
// (portal_identities, and client_online_logins: every person's login met, created under its key).
// What the portals hold and the ledger says was sent comes from the domain's own desired-state
// functions, so the seeded state is exactly what a sync would have produced; the benchmark's first
// reconcile checks that (it must find no drift).

export interface SeedOptions {
  clients: number;
  contactsPerClient: number;
  /** Client numbers are this prefix and a number. */
  prefix: string;
  contactRoleName: string;
}

/** One seeded client, as the benchmark's later sections need it: numbers and portal ids only. */
export interface SeededClient {
  id: number;
  clientNumber: string;
  entityGuid: string;
  contacts: { id: number; userGuid: string; ref: string }[];
}

const batchSize = 1_000;

export function seededClientNumber(prefix: string, n: number): string {
  return `${prefix}${String(n).padStart(6, '0')}`;
}

async function postJson(url: string, body: unknown): Promise<unknown> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${text.slice(0, 500)}`);
  return text ? (JSON.parse(text) as unknown) : undefined;
}

/** Registry rows for `clients` company clients with their contacts, both portals linked: plain SQL. */
async function seedRegistry(db: Db, options: SeedOptions): Promise<void> {
  await db.raw(
    `insert into clients (client_number, kind, status, name, address, postcode, city, country, phone, email, website, link_caseware, link_client_online)
     select ? || lpad(g::text, 6, '0'), 'company', 'client', 'Bench Client ' || g, 'Benchstraat ' || g, '3511 AB', 'Utrecht', 'Nederland',
            '030-' || lpad(g::text, 7, '0'), 'info' || g || '@client.bench.example', 'https://client' || g || '.bench.example', true, true
       from generate_series(1, ?) g order by g`,
    [options.prefix, options.clients],
  );
  await db.raw(
    `insert into contacts (client_id, email, phone, mobile, first_name, infix, last_name, initials, link_caseware, link_client_online)
     select c.id, 'contact' || c.id || '-' || k || '@bench.example', '030-' || lpad((c.id * 10 + k)::text, 7, '0'),
            '06-' || lpad((c.id * 10 + k)::text, 8, '0'), 'Contact' || k, case when k % 2 = 0 then 'van' end, 'Client' || c.id,
            'C.' || k || '.', true, true
       from clients c cross join generate_series(1, ?) k
      where c.client_number like ? order by c.id, k`,
    [options.contactsPerClient, `${options.prefix}%`],
  );
}

/**
 * Seeds registry, simulators and ledger; answers the seeded clients. Throws when a seeded client
 * would have a sync error (the seed is meant to be clean).
 */
export async function seedFirm(db: Db, simulators: SimulatorOrigins, options: SeedOptions): Promise<SeededClient[]> {
  await seedRegistry(db, options);
  const seeded: SeededClient[] = [];
  let afterId = 0;
  for (;;) {
    const page = await loadClientsPage(db, afterId, batchSize);
    if (page.length === 0) break;
    afterId = page[page.length - 1]!.client.id;
    const entities: object[] = [];
    const users: object[] = [];
    const roleAssignments: object[] = [];
    const pushes: object[] = [];
    const ledger: object[] = [];
    const logins: object[] = [];
    for (const { client, contacts } of page) {
      if (!client.clientNumber.startsWith(options.prefix)) continue;
      const caseware = desiredCaseWareState(client, contacts);
      const clientOnline = desiredClientOnlineState(client, contacts, new Map(), { sendBsn: false });
      if (!caseware.entity || caseware.conflicts.length > 0 || !clientOnline.push || clientOnline.conflicts.length > 0) {
        throw new Error(`seeded client ${client.clientNumber} would not sync cleanly`);
      }
      // A company's push carries no BSN, so the ledger's copy is the push itself (activities/client-online/reading.ts, ledgerCopy).
      if (clientOnline.push.bsn !== undefined) throw new Error('a seeded push carries a BSN');
      const entityGuid = randomUUID();
      entities.push({ CWGuid: entityGuid, ...caseware.entity });
      const identity = { client_number: client.clientNumber, access: 'active', synced_at: db.fn.now() };
      ledger.push({ ...identity, portal: 'caseware', record_type: 'client', record_id: client.id, remote_id: entityGuid, last_sent: JSON.stringify(caseware.entity) });
      const seededContacts: SeededClient['contacts'] = [];
      for (const contact of caseware.contacts) {
        const userGuid = randomUUID();
        users.push({ CWGuid: userGuid, OwnerType: 'Contact', ...contact.fields });
        roleAssignments.push({ entityId: entityGuid, userId: userGuid, roleName: options.contactRoleName });
        ledger.push({
          ...identity,
          portal: 'caseware',
          record_type: 'contact',
          record_id: contact.contactId,
          remote_id: userGuid,
          login_key: contact.loginKey,
          last_sent: JSON.stringify(contact.fields),
        });
        seededContacts.push({ id: contact.contactId, userGuid, ref: `c-${contact.contactId}` });
      }
      pushes.push({ clientNumber: client.clientNumber, ...clientOnline.push });
      // Without these a seeded client's first sync would first meet its persons (look for existing
      // logins to adopt), as at go-live: a cost the firm's later edits no longer pay.
      for (const login of clientOnline.logins) logins.push({ person_key: login.personKey, ref: login.ref, origin: 'created' });
      ledger.push({ ...identity, portal: 'client_online', record_type: 'client', record_id: client.id, remote_id: client.clientNumber, last_sent: JSON.stringify(clientOnline.push) });
      seeded.push({ id: client.id, clientNumber: client.clientNumber, entityGuid, contacts: seededContacts });
    }
    await Promise.all([
      postJson(`${simulators.caseware.origin}/_sim/load`, { entities, users, roleAssignments }),
      postJson(`${simulators.clientOnline.origin}/_sim/load`, { clients: pushes }),
    ]);
    for (let i = 0; i < ledger.length; i += 1_000) await db('portal_identities').insert(ledger.slice(i, i + 1_000));
    for (let i = 0; i < logins.length; i += 1_000) await db('client_online_logins').insert(logins.slice(i, i + 1_000));
  }
  return seeded;
}
