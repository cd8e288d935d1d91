import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createCompany, createContactAt, newestOutboxId, outboxEventsAfter, registryCounts, startApi, type ApiHarness } from './harness';

// "Koppelen aan hoofd(contact)persoon" (seed article 002) through the API, on a real database.

let api: ApiHarness;
let personId: number;

const masterData = {
  firstName: 'Pieter', infix: 'van', lastName: 'Dam', initials: 'P.J.',
  residentialStreet: 'Thuisweg 1', residentialPostcode: '1111 AA', residentialCity: 'Amersfoort', residentialCountry: 'NL',
  correspondenceStreet: 'Postbus 12', correspondencePostcode: '1110 AB', correspondenceCity: 'Amersfoort', correspondenceCountry: 'NL',
  privateEmail: 'pieter@thuis.test', privateMobile: '06-10000000',
};

beforeAll(async () => {
  api = await startApi();
  const person = await api.call('POST', '/clients', {
    clientNumber: '8001', kind: 'person', name: 'P.J. van Dam', bsn: '123456782', correspondenceEmailPreference: 'private', ...masterData,
  });
  expect(person.statusCode).toBe(201);
  personId = person.json().id;
  await createCompany(api, '8002');
  await createCompany(api, '8003');
});
afterAll(async () => {
  await api?.close();
});

const contact = async (id: number) => (await api.call('GET', `/contacts/${id}`)).json();

describe('linking', () => {
  test('linking a contact fills its private data from the master; business data stays its own', async () => {
    const id = await createContactAt(api, '8002', { firstName: 'Piet', lastName: 'Dam', email: 'pieter@bedrijf.test', phone: '030-1', mobile: '06-2' });
    const response = await api.call('PUT', `/contacts/${id}/master`, { clientNumber: '8001' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ ...masterData, masterClientId: personId, email: 'pieter@bedrijf.test', phone: '030-1', mobile: '06-2' });
    expect(response.json().bsn).toBeNull();
  });

  test('"create linked contact" makes a follower filled from the master at once', async () => {
    const before = await newestOutboxId(api.db);
    const response = await api.call('POST', '/clients/8003/contacts', { master: { clientNumber: '8001' }, email: 'pieter@b.test', links: { clientOnline: true } });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({ ...masterData, masterClientId: personId, email: 'pieter@b.test', links: { caseware: false, clientOnline: true } });
    expect((await outboxEventsAfter(api.db, before)).map((e) => e.kind)).toEqual(['contact.created', 'contact.master-changed']);
  });

  test('followers can be listed from the master, and the master found from a follower', async () => {
    const followers = (await api.call('GET', '/clients/8001/followers')).json().followers as { id: number; clientNumber: string }[];
    expect(followers.map((f) => f.clientNumber).sort()).toEqual(['8002', '8003']);
    const master = await api.call('GET', `/contacts/${followers[0]!.id}/master`);
    expect(master.json()).toEqual({ type: 'client', id: personId, clientNumber: '8001' });
    const unlinked = await createContactAt(api, '8002', { firstName: 'Los' });
    expect((await api.call('GET', `/contacts/${unlinked}/master`)).statusCode).toBe(404);
  });

  test('refused: a company as master, a contact as master where a person client exists, a master that follows, a follower that is a master', async () => {
    const target = await createContactAt(api, '8002', { firstName: 'Doel' });
    // The same person (same private email) as person client 8001.
    const twin = await createContactAt(api, '8003', { firstName: 'Pieter', privateEmail: 'PIETER@thuis.test' });
    const before = await registryCounts(api.db);
    const company = await api.call('PUT', `/contacts/${target}/master`, { clientNumber: '8002' });
    expect(company.statusCode).toBe(422);
    expect(company.json().error.message).toContain('client 8002 is a company');

    const viaTwin = await api.call('PUT', `/contacts/${target}/master`, { contactId: twin });
    expect(viaTwin.statusCode).toBe(422);
    expect(viaTwin.json().error.message).toContain('person client 8001');
    expect(viaTwin.json().error.message).not.toContain('@');

    const follower = (await api.call('GET', '/clients/8001/followers')).json().followers[0].id as number;
    const viaFollower = await api.call('PUT', `/contacts/${target}/master`, { contactId: follower });
    expect(viaFollower.statusCode).toBe(422);
    expect(viaFollower.json().error.message).toContain('cannot be a master');
    expect((await api.call('PUT', `/contacts/${target}/master`, { contactId: target })).statusCode).toBe(422);
    expect(await registryCounts(api.db)).toEqual(before);
    expect((await contact(target)).masterContactId).toBeNull();
  });

  test('a contact may be master where no person client exists; then it cannot follow another', async () => {
    const master = await createContactAt(api, '8002', { firstName: 'Greet', lastName: 'Solo', privateEmail: 'greet@solo.test', correspondenceEmailPreference: 'private' });
    const follower = await createContactAt(api, '8003', { firstName: 'G.' });
    const linked = await api.call('PUT', `/contacts/${follower}/master`, { contactId: master });
    expect(linked.statusCode).toBe(200);
    expect(linked.json()).toMatchObject({ masterContactId: master, firstName: 'Greet', lastName: 'Solo', privateEmail: 'greet@solo.test' });
    expect((await api.call('GET', `/contacts/${master}/followers`)).json().followers.map((f: { id: number }) => f.id)).toEqual([follower]);
    const masterFollows = await api.call('PUT', `/contacts/${master}/master`, { clientNumber: '8001' });
    expect(masterFollows.statusCode).toBe(422);
    expect(masterFollows.json().error.message).toContain(`contact ${master} is itself the master of contact ${follower}`);
    // Nor can it be deleted while followed: its followers would follow nobody.
    const deleted = await api.call('DELETE', `/contacts/${master}`);
    expect(deleted.statusCode).toBe(409);
    expect(deleted.json().error.message).toContain(`contact ${master} is the master of contact ${follower}`);
    expect((await api.call('GET', `/contacts/${master}`)).statusCode).toBe(200);
  });
});

describe('while linked', () => {
  test("a synced field can't be edited on the follower (409 naming the master); business fields can", async () => {
    const id = await createContactAt(api, '8002', { master: { clientNumber: '8001' }, email: 'x@bedrijf.test' });
    const before = await registryCounts(api.db);
    const refused = await api.call('PATCH', `/contacts/${id}`, { lastName: 'Anders', privateMobile: '06-99' });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.message).toContain('person client 8001');
    expect(refused.json().error.message).toContain('lastName, privateMobile');
    expect(await registryCounts(api.db)).toEqual(before);
    const business = await api.call('PATCH', `/contacts/${id}`, { phone: '030-777', email: 'y@bedrijf.test' });
    expect(business.statusCode).toBe(200);
    // Sending the master's own value is no edit.
    expect((await api.call('PATCH', `/contacts/${id}`, { lastName: 'Dam' })).statusCode).toBe(200);
  });

  test("a master's edit of synced data is announced for propagation, once; other edits are not", async () => {
    const before = await newestOutboxId(api.db);
    expect((await api.call('PATCH', '/clients/8001', { privateMobile: '06-20000000' })).statusCode).toBe(200);
    expect((await api.call('PATCH', '/clients/8001', { phone: '030-0' })).statusCode).toBe(200);
    const events = (await outboxEventsAfter(api.db, before)).map((e) => [e.kind, e.record_type, e.record_id]);
    expect(events).toEqual([
      ['client.updated', 'client', personId],
      ['master.updated', 'client', personId],
      ['client.updated', 'client', personId],
    ]);
  });
});

describe('correspondence addresses and the email preference', () => {
  async function casePair(master: 'business' | 'private', follower: 'business' | 'private') {
    const number = `81${master[0]}${follower[0]}`;
    const created = await api.call('POST', '/clients', {
      clientNumber: number, kind: 'person', name: number, firstName: 'M', email: `m-${number}@werk.test`,
      privateEmail: `m-${number}@thuis.test`, correspondenceEmailPreference: master,
    });
    expect(created.statusCode).toBe(201);
    const id = await createContactAt(api, '8002', { master: { clientNumber: number }, email: `f-${number}@bedrijf.test`, correspondenceEmailPreference: follower });
    return { id, number, emails: (await api.call('GET', `/contacts/${id}/correspondence-emails`)).json() };
  }

  test('master private, follower private: business and the inherited private address', async () => {
    const { number, emails } = await casePair('private', 'private');
    expect(emails.addresses).toEqual([
      { address: `f-${number}@bedrijf.test`, kind: 'business' },
      { address: `m-${number}@thuis.test`, kind: 'private' },
    ]);
    expect(emails.notOffered).toEqual([]);
  });

  test('master private, follower business: the inherited private address is not offered, and why', async () => {
    const { number, emails } = await casePair('private', 'business');
    expect(emails.addresses).toEqual([{ address: `f-${number}@bedrijf.test`, kind: 'business' }]);
    expect(emails.notOffered).toEqual([{ kind: 'private', reason: expect.stringContaining('prefers business correspondence') }]);
  });

  test('master business: its private email is not passed to followers at all', async () => {
    for (const follower of ['business', 'private'] as const) {
      const { id, number, emails } = await casePair('business', follower);
      expect((await contact(id)).privateEmail).toBeNull();
      expect(emails.addresses).toEqual([{ address: `f-${number}@bedrijf.test`, kind: 'business' }]);
      expect(emails.notOffered).toEqual([{ kind: 'private', reason: expect.stringContaining(`person client ${number} prefers business`) }]);
    }
  });

  test('an unlinked contact is offered what it has', async () => {
    const id = await createContactAt(api, '8002', { email: 'a@b.test', privateEmail: 'c@d.test', correspondenceEmailPreference: 'business' });
    expect((await api.call('GET', `/contacts/${id}/correspondence-emails`)).json().addresses).toHaveLength(2);
  });
});

describe('ending a link', () => {
  test('the follower keeps its values and can edit them again', async () => {
    const id = await createContactAt(api, '8002', { master: { clientNumber: '8001' } });
    const ended = await api.call('DELETE', `/contacts/${id}/master?force=true`);
    expect(ended.statusCode).toBe(200);
    expect(ended.json()).toMatchObject({ masterClientId: null, firstName: 'Pieter', lastName: 'Dam' });
    expect((await api.call('PATCH', `/contacts/${id}`, { lastName: 'Eigen' })).statusCode).toBe(200);
    expect((await api.call('DELETE', `/contacts/${id}/master`)).statusCode).toBe(404);
  });

  test('interlock: refused while the follower is linked to Client Online, or its switch-off has not reached it', async () => {
    const id = await createContactAt(api, '8002', { master: { clientNumber: '8001' }, links: { clientOnline: true } });
    const linked = await api.call('DELETE', `/contacts/${id}/master`);
    expect(linked.statusCode).toBe(409);
    expect(linked.json().error.message).toMatch(/Client Online.*second credentials mail.*Offboard bottom-up/s);
    expect((await contact(id)).masterClientId).toBe(personId);

    expect((await api.call('PUT', `/contacts/${id}/links`, { clientOnline: false })).statusCode).toBe(200);
    const notYet = await api.call('DELETE', `/contacts/${id}/master`);
    expect(notYet.statusCode).toBe(409);
    expect(notYet.json().error.message).toContain('has not yet received');

    // Client Online has received everything of 8002 (as the sync records it): now it is safe.
    // (the dispatcher delivered every event, and a sync read the registry after they committed).
    const newest = await newestOutboxId(api.db);
    const horizon = (await api.db.raw<{ rows: { horizon: string }[] }>('select pg_snapshot_xmax(pg_current_snapshot())::text as horizon')).rows[0]!.horizon;
    await api.db('outbox_events').where({ client_number: '8002' }).update({ delivered_at: new Date() });
    await api.db('portal_sync_state').insert({ portal: 'client_online', client_number: '8002', applied_event_id: newest, applied_horizon: horizon })
      .onConflict(['portal', 'client_number']).merge();
    const ended = await api.call('DELETE', `/contacts/${id}/master`);
    expect(ended.statusCode).toBe(200);
    expect(ended.json().masterClientId).toBeNull();
  });

  test('force ends the link at once, the caller accepting the risk', async () => {
    const id = await createContactAt(api, '8003', { master: { clientNumber: '8001' }, links: { clientOnline: true } });
    const forced = await api.call('DELETE', `/contacts/${id}/master?force=true`);
    expect(forced.statusCode).toBe(200);
    expect(forced.json().masterClientId).toBeNull();
  });
});
