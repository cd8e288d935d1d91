import { afterAll, beforeAll, expect, test } from 'vitest';
import { getClient } from '../../src/registry/clients';
import { getContact } from '../../src/registry/contacts';
import { startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/temporal';

// Issue 18, item 1: concurrent writes to one record, or to related records (a contact and its
// client; a master and its followers), through every write route of the registry at once, on real
// servers. A conflict between writers may be refused (409, saying so), never answered 5xx; every
// change answered 2xx is in the registry and in its outbox; and the portals end equal to the
// registry.

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

const both = { caseware: true, clientOnline: true };

type Target = { type: 'client'; clientNumber: string } | { type: 'contact'; id: number };

/** One request of a batch, and what a 2xx answer to it must have left behind. */
interface Write {
  method: 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  body?: unknown;
  /** The record changed; absent for a create, whose answer names it. */
  target?: Target;
  /** The outbox event a 2xx answer appended for that record (none for an offboarding's start). */
  event?: string;
  /** Fields (dotted for links) that hold these values afterwards, unless a later batch changed them. */
  fields?: Record<string, unknown>;
}

interface Answered extends Write {
  status: number;
  answer: any;
}

const label = (w: Write) => `${w.method} ${w.path}${w.body === undefined ? '' : ` ${JSON.stringify(w.body)}`}`;

/** Sends every write at once. */
async function batch(writes: readonly Write[]): Promise<Answered[]> {
  return Promise.all(writes.map(async (write) => ({ ...write, ...(await answer(write)) })));
}

async function answer(write: Write): Promise<{ status: number; answer: any }> {
  const response = await stack.api(write.method, write.path, write.body);
  return { status: response.status, answer: response.body };
}

async function created(path: string, body: Record<string, unknown>): Promise<number> {
  const response = await stack.api('POST', path, body);
  expect(response.status, `POST ${path}: ${JSON.stringify(response.body)}`).toBe(201);
  return response.body.id as number;
}

const newestOutboxId = async () => Number((await stack.database.db('outbox_events').max({ id: 'id' }))[0]?.id ?? 0);

/** Outbox events appended after `since`, counted by `kind|recordType|recordId`. */
async function outboxCounts(since: number): Promise<Map<string, number>> {
  const rows = await stack.database.db('outbox_events')
    .where('id', '>', since)
    .select<{ kind: string; record_type: string; record_id: number }[]>('kind', 'record_type', 'record_id');
  const counts = new Map<string, number>();
  for (const row of rows) {
    const key = `${row.kind}|${row.record_type}|${row.record_id}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** The record as the registry holds it now (deleted contacts too), its links flattened to `links.caseware`. */
async function registryRecord(target: Target): Promise<Record<string, unknown>> {
  const record: object =
    target.type === 'client' ? await getClient(stack.database.db, target.clientNumber) : await getContact(stack.database.db, target.id, { includeDeleted: true });
  const { links, ...rest } = record as Record<string, unknown> & { links: { caseware: boolean; clientOnline: boolean } };
  return { ...rest, 'links.caseware': links.caseware, 'links.clientOnline': links.clientOnline };
}

const targetKey = (target: Target) => (target.type === 'client' ? `client:${target.clientNumber}` : `contact:${target.id}`);

function targetOf(write: Answered): Target {
  if (write.target) return write.target;
  return write.path === '/clients' ? { type: 'client', clientNumber: write.answer.clientNumber } : { type: 'contact', id: write.answer.id };
}

/**
 * Checks a run of batches (each sent at once, one after the other): no 5xx; refusals are 404, 409
 * or 422 with a message, a 409 saying what conflicts; every 2xx change in the registry and its
 * outbox event appended.
 */
async function expectEveryChangeKept(batches: readonly Answered[][], outboxSince: number): Promise<void> {
  const all = batches.flat();
  const serverErrors = all.filter((w) => w.status >= 500);
  console.info(`${all.length} writes: ${all.filter((w) => w.status < 300).length} 2xx, ${serverErrors.length} 5xx, statuses`, count(all.map((w) => w.status)));
  for (const refused of all.filter((w) => w.status >= 400 && w.status < 500)) console.info(`refused: ${label(refused)} → ${refused.status} ${refused.answer?.error?.message}`);
  expect.soft(serverErrors.map((w) => `${label(w)} → ${w.status} ${JSON.stringify(w.answer)}`), 'writes answered 5xx').toEqual([]);
  const strange = all.filter((w) => w.status >= 300 && w.status < 500 && !([404, 409, 422].includes(w.status) && typeof w.answer?.error?.message === 'string'));
  expect.soft(strange.map((w) => `${label(w)} → ${w.status} ${JSON.stringify(w.answer)}`), 'refusals other than 404/409/422 with a message').toEqual([]);
  for (const refused of all.filter((w) => w.status === 409)) {
    expect.soft(refused.answer.error.code, label(refused)).toBe('conflict');
    expect.soft(refused.answer.error.message.length, `${label(refused)}: ${refused.answer.error.message}`).toBeGreaterThan(30);
  }

  // What the registry must hold: each batch's 2xx changes over the batches before it. Within a
  // batch two writes of one field always write the same value, so their order does not matter.
  const expected = new Map<string, { target: Target; fields: Record<string, unknown> }>();
  const expectedEvents = new Map<string, number>();
  for (const answered of batches) {
    for (const write of answered.filter((w) => w.status >= 200 && w.status < 300)) {
      if (write.event === undefined) continue;
      const target = targetOf(write);
      const entry = expected.get(targetKey(target)) ?? { target, fields: {} };
      expected.set(targetKey(target), { target, fields: { ...entry.fields, ...write.fields } });
      const recordId = target.type === 'contact' ? target.id : (await getClient(stack.database.db, target.clientNumber)).id;
      const key = `${write.event}|${target.type}|${recordId}`;
      expectedEvents.set(key, (expectedEvents.get(key) ?? 0) + 1);
    }
  }
  for (const { target, fields } of expected.values()) {
    const record = await registryRecord(target);
    const held = Object.fromEntries(Object.keys(fields).map((field) => [field, record[field]]));
    expect.soft(held, `${targetKey(target)} in the registry`).toEqual(fields);
  }
  const events = await outboxCounts(outboxSince);
  const missing = [...expectedEvents].filter(([key, n]) => (events.get(key) ?? 0) < n).map(([key, n]) => `${key}: ${events.get(key) ?? 0} of ${n}`);
  expect.soft(missing, 'outbox events of 2xx writes').toEqual([]);
}

function count(values: readonly number[]): Record<number, number> {
  return values.reduce<Record<number, number>>((all, v) => ({ ...all, [v]: (all[v] ?? 0) + 1 }), {});
}

async function expectPortalsEqualRegistry(): Promise<void> {
  const numbers = await stack.database.db('clients').orderBy('client_number').pluck<string[]>('client_number');
  for (const clientNumber of numbers) await stack.settled(clientNumber, { timeoutMs: 60_000 });
}

test('twelve link switches at once on two contacts of one client: none answers 5xx, each is kept', async () => {
  const company = '7001';
  await created('/clients', { clientNumber: company, kind: 'company', name: 'Gelijktijdig B.V.', links: both });
  const contacts = [
    await created(`/clients/${company}/contacts`, { firstName: 'Een', lastName: 'Tegelijk', email: 'een@7001.test', links: both }),
    await created(`/clients/${company}/contacts`, { firstName: 'Twee', lastName: 'Tegelijk', email: 'twee@7001.test', links: both }),
  ];
  const since = await newestOutboxId();
  const writes: Write[] = Array.from({ length: 12 }, (_, i) => {
    const id = contacts[i % 2]!;
    const links = i % 4 < 2 ? { caseware: false } : { clientOnline: false };
    return {
      method: 'PUT',
      path: `/contacts/${id}/links`,
      body: links,
      target: { type: 'contact', id },
      event: 'contact.links-changed',
      fields: Object.fromEntries(Object.entries(links).map(([portal, on]) => [`links.${portal}`, on])),
    };
  });
  await expectEveryChangeKept([await batch(writes)], since);
  await expectPortalsEqualRegistry();
}, 120_000);

test('every write route at once, on the same and on related records: no 5xx, every 2xx change kept, portals equal the registry', async () => {
  // Company A with a contact master (a1, followed by gB at B), companies A and B with followers of
  // person P (fA, fB), and contacts to edit, delete and offboard.
  const [A, B, P] = ['7101', '7102', '7201'];
  await created('/clients', { clientNumber: A, kind: 'company', name: 'Alfa B.V.', city: 'Zwolle', links: both });
  await created('/clients', { clientNumber: B, kind: 'company', name: 'Beta B.V.', city: 'Kampen', links: both });
  const personId = await created('/clients', {
    clientNumber: P, kind: 'person', name: 'P. Persoon', firstName: 'Piet', lastName: 'Persoon', bsn: '111222333',
    privateEmail: 'piet@thuis.test', correspondenceEmailPreference: 'private', links: both,
  });
  const contact = (clientNumber: string, name: string) =>
    created(`/clients/${clientNumber}/contacts`, { firstName: name, lastName: 'Contact', email: `${name}@${clientNumber}.test`, links: both });
  const [a1, a2, a3, a4, a5] = [await contact(A, 'a1'), await contact(A, 'a2'), await contact(A, 'a3'), await contact(A, 'a4'), await contact(A, 'a5')];
  const [b1, b2, b3] = [await contact(B, 'b1'), await contact(B, 'b2'), await contact(B, 'b3')];
  const fA = await created(`/clients/${A}/contacts`, { master: { clientNumber: P }, email: 'fa@7101.test', links: both });
  const fB = await created(`/clients/${B}/contacts`, { master: { clientNumber: P }, email: 'fb@7102.test', links: both });
  const gB = await created(`/clients/${B}/contacts`, { master: { contactId: a1 }, email: 'gb@7102.test', links: both });
  for (const n of [A, B, P]) await stack.settled(n, { timeoutMs: 60_000 });

  const client = (clientNumber: string): Target => ({ type: 'client', clientNumber });
  const of = (id: number): Target => ({ type: 'contact', id });
  const links = (target: Target, path: string, value: Record<string, boolean>): Write => ({
    method: 'PUT', path, body: value, target, event: target.type === 'client' ? 'client.links-changed' : 'contact.links-changed',
    fields: Object.fromEntries(Object.entries(value).map(([portal, on]) => [`links.${portal}`, on])),
  });
  const patchClient = (clientNumber: string, fields: Record<string, unknown>): Write => ({
    method: 'PATCH', path: `/clients/${clientNumber}`, body: fields, target: client(clientNumber), event: 'client.updated', fields,
  });
  const patchContact = (id: number, fields: Record<string, unknown>): Write => ({
    method: 'PATCH', path: `/contacts/${id}`, body: fields, target: of(id), event: 'contact.updated', fields,
  });
  const linkMaster = (id: number, master: { clientNumber: string } | { contactId: number }, masterId: number): Write => ({
    method: 'PUT', path: `/contacts/${id}/master`, body: master, target: of(id), event: 'contact.master-changed',
    fields: 'clientNumber' in master ? { masterClientId: masterId, masterContactId: null } : { masterClientId: null, masterContactId: masterId },
  });
  const endMaster = (id: number): Write => ({
    method: 'DELETE', path: `/contacts/${id}/master?force=true`, target: of(id), event: 'contact.master-changed', fields: { masterClientId: null, masterContactId: null },
  });
  const deleteContact = (id: number): Write => ({
    method: 'DELETE', path: `/contacts/${id}`, target: of(id), event: 'contact.deleted', fields: { deletedAt: expect.any(Date) },
  });
  const offboard = (id: number): Write => ({ method: 'POST', path: '/offboardings', body: { kind: 'revoke-contact-access', contactId: id, execute: true } });

  const round = (r: number): Write[] => {
    const on = r % 2 === 0;
    const tag = `r${r}`;
    return [
      // Clients: a new one (twice the same: one is registered, one refused), fields, status, links.
      { method: 'POST', path: '/clients', body: { clientNumber: `73${r}1`, kind: 'company', name: `Nieuw ${r}`, links: both }, event: 'client.created', fields: { name: `Nieuw ${r}` } },
      { method: 'POST', path: '/clients', body: { clientNumber: `73${r}1`, kind: 'company', name: `Nieuw ${r}`, links: both }, event: 'client.created', fields: { name: `Nieuw ${r}` } },
      patchClient(A, { city: `Stad ${tag}` }),
      patchClient(A, { phone: `038-${r}00` }),
      links(client(A), `/clients/${A}/links`, { caseware: true }),
      patchClient(B, { status: on ? 'client' : 'suspect' }),
      links(client(B), `/clients/${B}/links`, { clientOnline: r !== 2 }),
      // The master person: its followers take the change over in the background.
      patchClient(P, { lastName: `Persoon ${tag}` }),
      links(client(P), `/clients/${P}/links`, { caseware: true }),
      // Contacts: new ones, plain and linked to a master at once.
      { method: 'POST', path: `/clients/${A}/contacts`, body: { firstName: `Nieuw${r}`, email: `nieuw${r}@7101.test`, links: both }, event: 'contact.created', fields: { firstName: `Nieuw${r}` } },
      { method: 'POST', path: `/clients/${B}/contacts`, body: { master: { clientNumber: P }, email: `volger${r}@7102.test`, links: both }, event: 'contact.created', fields: { masterClientId: personId } },
      { method: 'POST', path: `/clients/${B}/contacts`, body: { master: { contactId: a1 }, email: `volgt-a1-${r}@7102.test`, links: both }, event: 'contact.created', fields: { masterContactId: a1 } },
      // The report: several link switches at once on two contacts of one client, with their fields.
      links(of(a2), `/contacts/${a2}/links`, { caseware: on }),
      links(of(a2), `/contacts/${a2}/links`, { caseware: on }),
      links(of(a2), `/contacts/${a2}/links`, { clientOnline: true }),
      links(of(a5), `/contacts/${a5}/links`, { clientOnline: on }),
      links(of(a5), `/contacts/${a5}/links`, { clientOnline: on }),
      patchContact(a2, { phone: `030-${r}02` }),
      patchContact(a2, { lastName: `Twee ${tag}` }),
      patchContact(a5, { mobile: `06-${r}0000005` }),
      // A contact master and its follower; a person's followers.
      patchContact(a1, { lastName: `Meester ${tag}` }),
      patchContact(gB, { phone: `030-${r}0B` }),
      links(of(gB), `/contacts/${gB}/links`, { caseware: on }),
      patchContact(fA, { mobile: `06-${r}00000FA` }),
      links(of(fA), `/contacts/${fA}/links`, { clientOnline: true }),
      // A master with a follower cannot be deleted: refused, whatever else runs.
      { method: 'DELETE', path: `/contacts/${a1}` },
      // Master links made and ended while the master and the follower change.
      ...[
        [endMaster(fB), linkMaster(gB, { contactId: a1 }, a1), linkMaster(b1, { clientNumber: P }, personId)],
        [linkMaster(fB, { clientNumber: P }, personId), endMaster(gB), linkMaster(b1, { contactId: b3 }, b3)],
        [linkMaster(fB, { contactId: a1 }, a1), linkMaster(gB, { clientNumber: P }, personId), endMaster(b1)],
      ][r - 1]!,
      // Deletes, with writes to the same contact; one races a new follower of it (b1 → b3).
      ...[
        [deleteContact(a4), patchContact(a4, { phone: '030-404' }), links(of(a4), `/contacts/${a4}/links`, { caseware: false })],
        [deleteContact(b3), patchContact(b3, { phone: '030-303' })],
        [patchContact(a4, { phone: '030-405' })],
      ][r - 1]!,
      // Offboardings started while their contact, its client and its links change.
      ...[
        [offboard(a3), links(of(a3), `/contacts/${a3}/links`, { caseware: false }), patchContact(a3, { phone: '030-333' })],
        [offboard(b2), offboard(a3), links(of(b2), `/contacts/${b2}/links`, { clientOnline: false }), patchContact(b2, { mobile: '06-22222222' })],
        [offboard(a5), links(of(a5), `/contacts/${a5}/links`, { caseware: false })],
      ][r - 1]!,
    ];
  };

  const since = await newestOutboxId();
  const batches: Answered[][] = [];
  for (const r of [1, 2, 3]) batches.push(await batch(round(r)));
  await expectEveryChangeKept(batches, since);

  // One registration per client number; no follower of a deleted contact.
  for (const r of [1, 2, 3]) {
    const registered = batches[r - 1]!.filter((w) => w.path === '/clients' && w.status === 201);
    expect.soft(registered.length, `client 73${r}1 registered once`).toBe(1);
  }
  const orphans = await stack.database.db('contacts as f')
    .join('contacts as m', 'm.id', 'f.master_contact_id')
    .whereNull('f.deleted_at')
    .whereNotNull('m.deleted_at')
    .pluck<number[]>('f.id');
  expect.soft(orphans, 'contacts following a deleted contact').toEqual([]);

  // Each offboarding started is carried out: its contact ends with both links off.
  const started = batches.flat().filter((w) => w.path === '/offboardings' && w.status === 202);
  expect(started.length).toBeGreaterThan(0);
  for (const offboarding of started) {
    const done = await waitFor(`offboarding ${offboarding.answer.id} to finish`, async () => {
      const response = await stack.api('GET', `/offboardings/${offboarding.answer.id}`);
      return response.body.finishedAt ? response.body : undefined;
    }, { timeoutMs: 60_000 });
    expect.soft(done.status, `offboarding ${done.id}`).toBe('completed');
    const id = (offboarding.body as { contactId: number }).contactId;
    expect.soft(await registryRecord(of(id)), `contact ${id} after its offboarding`).toMatchObject({ 'links.caseware': false, 'links.clientOnline': false });
  }

  await expectPortalsEqualRegistry();
}, 240_000);
