import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { updateClient } from '../../src/registry/clients';
import { loadClientWithContacts } from '../../src/registry/contacts';
import { RegistryError } from '../../src/registry/errors';
import type { ClientPatch } from '../../src/registry/schemas';
import {
  createCompany,
  createContactAt,
  newestOutboxId,
  outboxEventsAfter,
  registryCounts,
  startApi,
  type ApiHarness,
  type ClientWithContactsJson,
} from './harness';

let api: ApiHarness;
let companyId: number;
beforeAll(async () => {
  api = await startApi();
  companyId = await createCompany(api, '3001');
  const person = await api.call('POST', '/clients', {
    clientNumber: '3900',
    kind: 'person',
    name: 'M. Jansen',
    firstName: 'Marieke',
    lastName: 'Jansen',
    bsn: '999999990',
  });
  expect(person.statusCode).toBe(201);
});
afterAll(async () => {
  await api.close();
});

describe('POST /clients/:number/contacts', () => {
  test('registers a contact at a company and appends one contact.created event', async () => {
    const since = await newestOutboxId(api.db);
    const response = await api.call('POST', '/clients/3001/contacts', {
      firstName: 'Kees',
      infix: 'van',
      lastName: 'Dijk',
      email: 'KEES@example.nl',
      phone: '010-7654321',
      privateMobile: '06-12345678',
      correspondenceEmailPreference: 'private',
      links: { caseware: true },
    });
    expect(response.statusCode).toBe(201);
    const contact = response.json();
    expect(contact).toMatchObject({
      clientId: companyId,
      clientNumber: '3001',
      firstName: 'Kees',
      infix: 'van',
      lastName: 'Dijk',
      email: 'kees@example.nl',
      phone: '010-7654321',
      privateMobile: '06-12345678',
      correspondenceEmailPreference: 'private',
      links: { caseware: true, clientOnline: false },
      deletedAt: null,
    });

    const row = await api.db('contacts').where({ id: contact.id }).first();
    expect(row).toMatchObject({ client_id: companyId, last_name: 'Dijk', private_mobile: '06-12345678', link_caseware: true });
    expect(await outboxEventsAfter(api.db, since)).toEqual([
      { id: expect.any(Number), client_number: '3001', kind: 'contact.created', record_type: 'contact', record_id: contact.id },
    ]);
  });

  test('a contact without any email is accepted', async () => {
    const response = await api.call('POST', '/clients/3001/contacts', { firstName: 'Zonder', lastName: 'Mail' });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({ email: null, privateEmail: null });
  });

  test('an empty contact is accepted: the registry asks for nothing the portals need', async () => {
    const response = await api.call('POST', '/clients/3001/contacts', {});
    expect(response.statusCode).toBe(201);
  });

  test('two contacts sharing one email are both accepted', async () => {
    const first = await api.call('POST', '/clients/3001/contacts', { firstName: 'Een', email: 'info@company.nl' });
    const second = await api.call('POST', '/clients/3001/contacts', { firstName: 'Twee', email: 'info@company.nl' });
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    expect(second.json().id).not.toBe(first.json().id);
    const shared = await api.db('contacts').where({ email: 'info@company.nl' }).pluck('id');
    expect(shared.sort()).toEqual([first.json().id, second.json().id].sort());
  });

  test('a contact under a person client is refused with a rule error that names no personal data', async () => {
    const before = await registryCounts(api.db);
    const response = await api.call('POST', '/clients/3900/contacts', { firstName: 'Klaas', email: 'klaas@example.nl' });
    expect(response.statusCode).toBe(422);
    const { error } = response.json();
    expect(error.code).toBe('rule');
    expect(error.message).toContain('3900');
    expect(error.message).toMatch(/company client/);
    for (const personal of ['Marieke', 'Jansen', '999999990', 'Klaas', 'klaas@example.nl']) {
      expect(error.message).not.toContain(personal);
    }
    expect(await registryCounts(api.db)).toEqual(before);
  });

  test('a contact under an unknown client answers 404 and writes nothing', async () => {
    const before = await registryCounts(api.db);
    const response = await api.call('POST', '/clients/3999/contacts', { firstName: 'Niemand' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: { code: 'not-found', message: 'client 3999 does not exist in the registry' } });
    expect(await registryCounts(api.db)).toEqual(before);
  });

  test.each([
    ['an invalid email', { email: 'kees@' }, 'body.email', /email/i],
    ['an unknown preference', { correspondenceEmailPreference: 'fax' }, 'body.correspondenceEmailPreference', /business/],
    ['a too long phone', { phone: '0'.repeat(41) }, 'body.phone', /40/],
    ['a client id', { clientId: 1 }, 'body.clientId', /unknown field/],
  ])('%s answers 400 naming the field and writes nothing', async (_case, body, path, reason) => {
    const before = await registryCounts(api.db);
    const response = await api.call('POST', '/clients/3001/contacts', body);
    expect(response.statusCode).toBe(400);
    const { error } = response.json();
    expect(error.code).toBe('invalid-request');
    expect(error.issues).toContainEqual({ path, message: expect.stringMatching(reason) });
    expect(await registryCounts(api.db)).toEqual(before);
  });
});

describe('GET /contacts/:id', () => {
  test('answers the contact', async () => {
    const id = await createContactAt(api, '3001', { firstName: 'Lees', mobile: '06-00000001' });
    const response = await api.call('GET', `/contacts/${id}`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id, clientNumber: '3001', firstName: 'Lees', mobile: '06-00000001' });
  });

  test('an unknown contact answers 404', async () => {
    const response = await api.call('GET', '/contacts/987654');
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({
      error: { code: 'not-found', message: 'contact 987654 does not exist in the registry or has been deleted' },
    });
  });

  test('a malformed id answers 400 naming the parameter', async () => {
    const response = await api.call('GET', '/contacts/abc');
    expect(response.statusCode).toBe(400);
    expect(response.json().error.issues).toEqual([{ path: 'params.id', message: expect.stringMatching(/contact id/) }]);
  });
});

describe('PATCH /contacts/:id', () => {
  test('changes the given fields, bumps updated_at and appends one contact.updated event', async () => {
    const id = await createContactAt(api, '3001', { firstName: 'Wim', email: 'wim@example.nl', phone: '020-1111111' });
    const before = await api.db('contacts').where({ id }).first<{ updated_at: Date }>();
    const since = await newestOutboxId(api.db);

    const response = await api.call('PATCH', `/contacts/${id}`, { email: null, lastName: 'Willemsen' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id, firstName: 'Wim', lastName: 'Willemsen', email: null, phone: '020-1111111' });

    const after = await api.db('contacts').where({ id }).first<{ updated_at: Date }>();
    expect(after).toMatchObject({ first_name: 'Wim', last_name: 'Willemsen', email: null, phone: '020-1111111' });
    expect(after.updated_at.getTime()).toBeGreaterThan(before.updated_at.getTime());
    expect(await outboxEventsAfter(api.db, since)).toEqual([
      { id: expect.any(Number), client_number: '3001', kind: 'contact.updated', record_type: 'contact', record_id: id },
    ]);
  });

  test('a bad body answers 400 and changes nothing', async () => {
    const id = await createContactAt(api, '3001', { firstName: 'Sanne' });
    const rowBefore = await api.db('contacts').where({ id }).first();
    const before = await registryCounts(api.db);
    for (const body of [{ privateEmail: 'sanne-at-home' }, { firstName: 'Sanne', clientNumber: '3002' }, {}]) {
      const response = await api.call('PATCH', `/contacts/${id}`, body);
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
    }
    expect(await api.db('contacts').where({ id }).first()).toEqual(rowBefore);
    expect(await registryCounts(api.db)).toEqual(before);
  });

  test('an unknown contact answers 404 and appends no event', async () => {
    const before = await registryCounts(api.db);
    const response = await api.call('PATCH', '/contacts/987654', { firstName: 'X' });
    expect(response.statusCode).toBe(404);
    expect(await registryCounts(api.db)).toEqual(before);
  });

  test('when the outbox event cannot be written, the change is rolled back', async () => {
    const id = await createContactAt(api, '3001', { firstName: 'Origineel' });
    await api.db.raw(`alter table outbox_events add constraint test_refuse_contact_updated check (kind <> 'contact.updated') not valid`);
    try {
      const response = await api.call('PATCH', `/contacts/${id}`, { firstName: 'Gewijzigd' });
      expect(response.statusCode).toBe(500);
      expect(await api.db('contacts').where({ id }).first()).toMatchObject({ first_name: 'Origineel' });
    } finally {
      await api.db.raw('alter table outbox_events drop constraint test_refuse_contact_updated');
    }
  });
});

describe('PUT /contacts/:id/links', () => {
  test('switches the given portal and appends one contact.links-changed event', async () => {
    const id = await createContactAt(api, '3001', { firstName: 'Link' });
    const since = await newestOutboxId(api.db);
    const response = await api.call('PUT', `/contacts/${id}/links`, { clientOnline: true });
    expect(response.statusCode).toBe(200);
    expect(response.json().links).toEqual({ caseware: false, clientOnline: true });
    expect(await api.db('contacts').where({ id }).first()).toMatchObject({ link_caseware: false, link_client_online: true });
    expect((await outboxEventsAfter(api.db, since)).map((event) => [event.kind, event.record_id, event.client_number])).toEqual([
      ['contact.links-changed', id, '3001'],
    ]);
  });

  test('an empty body answers 400 and changes nothing', async () => {
    const id = await createContactAt(api, '3001');
    const before = await registryCounts(api.db);
    const response = await api.call('PUT', `/contacts/${id}/links`, {});
    expect(response.statusCode).toBe(400);
    expect(response.json().error.issues).toEqual([{ path: 'body', message: expect.stringMatching(/changes nothing/) }]);
    expect(await registryCounts(api.db)).toEqual(before);
  });
});

describe('DELETE /contacts/:id', () => {
  test('soft-deletes: the row stays with deleted_at, reads answer 404, one contact.deleted event', async () => {
    const id = await createContactAt(api, '3001', { firstName: 'Weg', links: { caseware: true } });
    const since = await newestOutboxId(api.db);

    const response = await api.call('DELETE', `/contacts/${id}`);
    expect(response.statusCode).toBe(204);
    expect(response.body).toBe('');

    const row = await api.db('contacts').where({ id }).first();
    expect(row.deleted_at).toBeInstanceOf(Date);
    expect(row.first_name).toBe('Weg');
    expect(await outboxEventsAfter(api.db, since)).toEqual([
      { id: expect.any(Number), client_number: '3001', kind: 'contact.deleted', record_type: 'contact', record_id: id },
    ]);

    expect((await api.call('GET', `/contacts/${id}`)).statusCode).toBe(404);
    expect((await api.call('PATCH', `/contacts/${id}`, { firstName: 'Terug' })).statusCode).toBe(404);
    expect((await api.call('PUT', `/contacts/${id}/links`, { caseware: false })).statusCode).toBe(404);
    const client = (await api.call('GET', '/clients/3001')).json<ClientWithContactsJson>();
    expect(client.contacts.map((contact) => contact.id)).not.toContain(id);
  });

  test('deleting twice answers 404 the second time and appends no second event', async () => {
    const id = await createContactAt(api, '3001');
    expect((await api.call('DELETE', `/contacts/${id}`)).statusCode).toBe(204);
    const before = await registryCounts(api.db);
    const again = await api.call('DELETE', `/contacts/${id}`);
    expect(again.statusCode).toBe(404);
    expect(await registryCounts(api.db)).toEqual(before);
  });
});

describe('repository', () => {
  test('loadClientWithContacts gives the client and its contacts that are not deleted', async () => {
    await createCompany(api, '3002');
    const kept = await createContactAt(api, '3002', { firstName: 'Blijft' });
    const gone = await createContactAt(api, '3002', { firstName: 'Gaat' });
    await api.call('DELETE', `/contacts/${gone}`);

    const { client, contacts } = await loadClientWithContacts(api.db, '3002');
    expect(client).toMatchObject({ clientNumber: '3002', kind: 'company', links: { caseware: false, clientOnline: false } });
    expect(client.createdAt).toBeInstanceOf(Date);
    expect(contacts.map((contact) => contact.id)).toEqual([kept]);
    expect(contacts[0]).toMatchObject({ clientNumber: '3002', firstName: 'Blijft', deletedAt: null });
  });

  test('loadClientWithContacts refuses an unknown client with a typed error', async () => {
    await expect(loadClientWithContacts(api.db, '3998')).rejects.toMatchObject({
      name: 'RegistryError',
      code: 'not-found',
      message: 'client 3998 does not exist in the registry',
    });
  });

  test('updateClient refuses to change the kind even past the schema', async () => {
    const before = await registryCounts(api.db);
    const patch = { kind: 'person', name: 'Other' } as unknown as ClientPatch;
    const error: unknown = await updateClient(api.db, '3001', patch).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({ code: 'rule' });
    expect(await api.db('clients').where({ client_number: '3001' }).first()).toMatchObject({ kind: 'company', name: 'Company 3001' });
    expect(await registryCounts(api.db)).toEqual(before);
  });
});

describe('PUT /contacts/:id/master', () => {
  test('links a contact to a person client as its master, with one contact.master-changed event', async () => {
    const contactId = await createContactAt(api, '3001', { firstName: 'Marieke', lastName: 'Jansen' });
    const since = await newestOutboxId(api.db);
    const response = await api.call('PUT', `/contacts/${contactId}/master`, { clientNumber: '3900' });
    expect(response.statusCode).toBe(200);
    const person = (await api.call('GET', '/clients/3900')).json();
    expect(response.json()).toMatchObject({ id: contactId, masterClientId: person.id, masterContactId: null });
    expect((await outboxEventsAfter(api.db, since)).map((e) => [e.kind, e.record_id])).toEqual([['contact.master-changed', contactId]]);
  });

  test('refuses a company as master, and an unknown master or contact, changing nothing', async () => {
    const contactId = await createContactAt(api, '3001', { firstName: 'Bert' });
    const before = await registryCounts(api.db);
    const company = await api.call('PUT', `/contacts/${contactId}/master`, { clientNumber: '3001' });
    expect(company.statusCode).toBe(422);
    expect(company.json().error.message).toContain('client 3001 is a company');
    expect((await api.call('PUT', `/contacts/${contactId}/master`, { clientNumber: '9999' })).statusCode).toBe(404);
    expect((await api.call('PUT', '/contacts/999999/master', { clientNumber: '3900' })).statusCode).toBe(404);
    expect((await api.call('PUT', `/contacts/${contactId}/master`, { client: '3900' })).statusCode).toBe(400);
    expect(await registryCounts(api.db)).toEqual(before);
    expect((await api.call('GET', `/contacts/${contactId}`)).json()).toMatchObject({ masterClientId: null });
  });
});
