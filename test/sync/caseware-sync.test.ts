import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestStack, syncRanSince, type TestStack } from '../support/stack';
import { waitFor } from '../support/temporal';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function createCompany(clientNumber: string, extra: Record<string, unknown> = {}) {
  const response = await stack.api('POST', '/clients', {
    clientNumber,
    kind: 'company',
    name: `Company ${clientNumber} B.V.`,
    address: 'Kerkstraat 1',
    postcode: '1234 AB',
    city: 'Utrecht',
    country: 'NL',
    phone: '030-1234567',
    email: `info-${clientNumber}@example.test`,
    website: 'https://example.test',
    twitter: 'example',
    links: { caseware: true },
    ...extra,
  });
  expect(response.status).toBe(201);
  return response.body;
}

async function createContact(clientNumber: string, body: Record<string, unknown>) {
  const response = await stack.api('POST', `/clients/${clientNumber}/contacts`, { links: { caseware: true }, ...body });
  expect(response.status).toBe(201);
  return response.body as { id: number };
}

const userByEmail = async (email: string) => (await stack.simState()).users.find((u) => u.Email.toLowerCase() === email);

async function openErrors(clientNumber: string) {
  const response = await stack.api('GET', `/sync/errors?clientNumber=${clientNumber}`);
  expect(response.status).toBe(200);
  return (response.body as { errors?: unknown[] }).errors ?? (response.body as unknown[]);
}

describe('CaseWare Cloud sync over real servers', () => {
  test('a new linked client with two contacts arrives with the right fields and shares', async () => {
    await createCompany('2001');
    const anna = await createContact('2001', {
      firstName: 'Anna', infix: 'van', lastName: 'Dijk', initials: 'A.', email: 'anna@c2001.test', phone: '030-1', mobile: '06-1',
      bsn: '123456782', privateEmail: 'anna.private@home.test',
    });
    const bram = await createContact('2001', { firstName: 'Bram', lastName: 'Bos', email: 'bram@c2001.test' });
    await stack.settled('2001');

    const state = await stack.simState();
    const entity = state.entities.find((e) => e.EntityNo === '2001');
    expect(entity).toMatchObject({
      Name: 'Company 2001 B.V.', Address: 'Kerkstraat 1', PostalCode: '1234 AB', City: 'Utrecht', Country: 'NL',
      Phone: '030-1234567', Email: 'info-2001@example.test', Website: 'https://example.test', Twitter: 'example',
    });
    const annaUser = state.users.find((u) => u.Email === 'anna@c2001.test');
    expect(annaUser).toMatchObject({
      OwnerType: 'Contact', FirstName: 'Anna', MiddleName: 'van', LastName: 'Dijk', Initials: 'A.', Phone: '030-1', MobilePhone: '06-1', Type: 'A',
    });
    const bramUser = state.users.find((u) => u.Email === 'bram@c2001.test');
    expect(bramUser).toBeDefined();
    const accessRole = state.roles.find((r) => r.Name === 'Contact - Entity Access')!;
    const shares = state.roleAssignments.filter((a) => a.entityId === entity!.CWGuid);
    expect(shares).toEqual(expect.arrayContaining([
      { entityId: entity!.CWGuid, userId: annaUser!.CWGuid, roleId: accessRole.CWGuid },
      { entityId: entity!.CWGuid, userId: bramUser!.CWGuid, roleId: accessRole.CWGuid },
    ]));
    expect(shares).toHaveLength(2);
    expect(state.mails.filter((m) => m.to === 'anna@c2001.test')).toHaveLength(1);
    // Private data stays home: no BSN, no private email in CaseWare.
    expect(JSON.stringify(state)).not.toContain('123456782');
    expect(JSON.stringify(state)).not.toContain('anna.private@home.test');

    const status = await stack.api('GET', '/sync/clients/2001');
    expect(status.status).toBe(200);
    expect(status.body.caseware.state).toBe('in-sync');
    const remoteIds = status.body.caseware.remote.map((r: { remoteId: string }) => r.remoteId);
    expect(remoteIds).toEqual(expect.arrayContaining([entity!.CWGuid, annaUser!.CWGuid, bramUser!.CWGuid]));
    void anna;
    void bram;
  });

  test('an edit of a contact and of its client arrives', async () => {
    await createCompany('2002');
    const contact = await createContact('2002', { firstName: 'Carla', lastName: 'Mol', email: 'carla@c2002.test' });
    await stack.settled('2002');
    expect((await stack.api('PATCH', `/contacts/${contact.id}`, { lastName: 'Mol-Jansen' })).status).toBe(200);
    expect((await stack.api('PATCH', '/clients/2002', { city: 'Amersfoort' })).status).toBe(200);
    await stack.settled('2002');
    const state = await stack.simState();
    expect(state.users.find((u) => u.Email === 'carla@c2002.test')?.LastName).toBe('Mol-Jansen');
    expect(state.entities.find((e) => e.EntityNo === '2002')?.City).toBe('Amersfoort');
    expect(state.mails.filter((m) => m.to === 'carla@c2002.test')).toHaveLength(1);
  });

  test('switching a contact off, deleting one, or switching the client off revokes access', async () => {
    await createCompany('2003');
    const dave = await createContact('2003', { firstName: 'Dave', lastName: 'Kok', email: 'dave@c2003.test' });
    const ella = await createContact('2003', { firstName: 'Ella', lastName: 'Kok', email: 'ella@c2003.test' });
    const finn = await createContact('2003', { firstName: 'Finn', lastName: 'Kok', email: 'finn@c2003.test' });
    await stack.settled('2003');
    const sharesOf = async (email: string) => {
      const state = await stack.simState();
      const user = state.users.find((u) => u.Email === email)!;
      const entity = state.entities.find((e) => e.EntityNo === '2003')!;
      return { user, shares: state.roleAssignments.filter((a) => a.userId === user.CWGuid && a.entityId === entity.CWGuid) };
    };
    expect((await sharesOf('dave@c2003.test')).shares).toHaveLength(1);

    expect((await stack.api('PUT', `/contacts/${dave.id}/links`, { caseware: false })).status).toBe(200);
    expect((await stack.api('DELETE', `/contacts/${ella.id}`)).status).toBe(204);
    await stack.settled('2003');
    for (const email of ['dave@c2003.test', 'ella@c2003.test']) {
      const { user, shares } = await sharesOf(email);
      expect(shares).toHaveLength(0);
      expect(user.Type).toBe('I');
    }
    expect((await sharesOf('finn@c2003.test')).shares).toHaveLength(1);

    expect((await stack.api('PUT', '/clients/2003/links', { caseware: false })).status).toBe(200);
    await stack.settled('2003');
    expect((await sharesOf('finn@c2003.test')).shares).toHaveLength(0);

    // Switching back on restores access without a second credentials mail.
    expect((await stack.api('PUT', '/clients/2003/links', { caseware: true })).status).toBe(200);
    expect((await stack.api('PUT', `/contacts/${dave.id}/links`, { caseware: true })).status).toBe(200);
    await stack.settled('2003');
    const daveNow = await sharesOf('dave@c2003.test');
    expect(daveNow.shares).toHaveLength(1);
    expect(daveNow.user.Type).toBe('A');
    expect((await sharesOf('finn@c2003.test')).shares).toHaveLength(1);
    const mails = (await stack.simState()).mails;
    expect(mails.filter((m) => m.to === 'dave@c2003.test')).toHaveLength(1);
    void finn;
  });

  test('a person client and a suspect never arrive', async () => {
    const person = await stack.api('POST', '/clients', {
      clientNumber: '2004', kind: 'person', name: 'G. de Wit', firstName: 'Gert', lastName: 'Wit', infix: 'de', links: { caseware: true },
    });
    expect(person.status).toBe(201);
    await createCompany('2005', { status: 'suspect' });
    await createContact('2005', { firstName: 'Hans', lastName: 'Suspect', email: 'hans@c2005.test' });
    await stack.settled('2004');
    await stack.settled('2005');
    // Their syncs have run with every change, so what is absent was not sent.
    await syncRanSince(stack, '2004', 'caseware');
    await syncRanSince(stack, '2005', 'caseware');
    const state = await stack.simState();
    expect(state.entities.map((e) => e.EntityNo)).not.toContain('2004');
    expect(state.entities.map((e) => e.EntityNo)).not.toContain('2005');
    expect(state.users.map((u) => u.Email)).not.toContain('hans@c2005.test');

    // A suspect that becomes a client is sent from then on.
    expect((await stack.api('PATCH', '/clients/2005', { status: 'client' })).status).toBe(200);
    await stack.settled('2005');
    expect(await userByEmail('hans@c2005.test')).toBeDefined();
  });

  test('the three email conflicts become sync errors, block nothing else, and resolve when fixed', async () => {
    await createCompany('2006');
    const noEmail = await createContact('2006', { firstName: 'Ivo', lastName: 'Zonder' });
    const first = await createContact('2006', { firstName: 'Jan', lastName: 'Eerst', email: 'info@c2006.test' });
    const second = await createContact('2006', { firstName: 'Kees', lastName: 'Later', email: 'info@c2006.test' });
    const removed = await createContact('2006', { firstName: 'Lies', lastName: 'Weg', email: 'lies@c2006.test' });
    const fine = await createContact('2006', { firstName: 'Mo', lastName: 'Goed', email: 'mo@c2006.test' });
    await stack.settled('2006');
    expect((await stack.api('PATCH', `/contacts/${removed.id}`, { email: null })).status).toBe(200);
    await stack.settled('2006');

    const errors = (await openErrors('2006')) as { recordId: number; code: string; message: string; portal: string }[];
    const byContact = new Map(errors.map((e) => [e.recordId, e]));
    expect(byContact.get(noEmail.id)?.code).toBe('missing-email');
    expect(byContact.get(second.id)?.code).toBe('shared-email');
    expect(byContact.get(second.id)?.message).toContain(`contact ${first.id}`);
    expect(byContact.get(removed.id)?.code).toBe('email-removed');
    expect(byContact.has(first.id)).toBe(false);
    expect(byContact.has(fine.id)).toBe(false);
    expect(errors).toHaveLength(3);
    for (const error of errors) expect(error.message).not.toMatch(/@/);

    const state = await stack.simState();
    expect(state.users.filter((u) => u.Email === 'info@c2006.test')).toHaveLength(1);
    expect(state.users.find((u) => u.Email === 'info@c2006.test')?.FirstName).toBe('Jan');
    expect(state.users.find((u) => u.Email === 'mo@c2006.test')).toBeDefined();
    expect(state.users.find((u) => u.Email === 'lies@c2006.test')?.Type).toBe('A');
    const status = await stack.api('GET', '/sync/clients/2006');
    expect(status.body.caseware.state).toBe('error');

    // Fixing the data resolves the errors on the next change, by itself.
    await stack.api('PATCH', `/contacts/${noEmail.id}`, { email: 'ivo@c2006.test' });
    await stack.api('PATCH', `/contacts/${second.id}`, { email: 'kees@c2006.test' });
    await stack.api('PATCH', `/contacts/${removed.id}`, { email: 'lies@c2006.test', lastName: 'Terug' });
    await stack.settled('2006');
    expect(await openErrors('2006')).toHaveLength(0);
    expect(await userByEmail('ivo@c2006.test')).toBeDefined();
    expect((await userByEmail('kees@c2006.test'))?.FirstName).toBe('Kees');
    expect((await userByEmail('lies@c2006.test'))?.LastName).toBe('Terug');
    const resolved = await stack.api('GET', '/sync/errors?clientNumber=2006&includeResolved=true');
    const all = (resolved.body.errors ?? resolved.body) as { resolvedAt: string | null }[];
    expect(all.length).toBe(3);
    expect(all.every((e) => e.resolvedAt !== null)).toBe(true);
  });

  test('a shared email across two clients: the first one sent owns the login', async () => {
    await createCompany('2007');
    const owner = await createContact('2007', { firstName: 'Nina', lastName: 'Een', email: 'shared@across.test' });
    await stack.settled('2007');
    await createCompany('2008');
    const other = await createContact('2008', { firstName: 'Otto', lastName: 'Twee', email: 'shared@across.test' });
    await stack.settled('2008');
    const errors = (await openErrors('2008')) as { recordId: number; code: string; message: string }[];
    expect(errors).toEqual([expect.objectContaining({ recordId: other.id, code: 'shared-email' })]);
    expect(errors[0]!.message).toContain(`contact ${owner.id} at client 2007`);
    expect((await userByEmail('shared@across.test'))?.FirstName).toBe('Nina');
  });

  test('the same event delivered twice creates one contact and one credentials mail', async () => {
    await createCompany('2009');
    const piet = await createContact('2009', { firstName: 'Piet', lastName: 'Dubbel', email: 'piet@c2009.test' });
    await stack.settled('2009');
    const db = stack.database.db;
    // Deliver every event of this client again, and signal the workflow a third time by hand.
    const events = await db('outbox_events').where({ client_number: '2009' }).update({ delivered_at: null }).returning('id');
    expect(events.length).toBeGreaterThan(0);
    await waitFor('redelivery', async () => (await db('outbox_events').where({ client_number: '2009' }).whereNull('delivered_at')).length === 0);
    const handle = stack.temporal.client.workflow.getHandle('client-2009');
    await handle.signal('registryChanged', { eventId: Math.max(...events.map((e: { id: number }) => e.id)) });
    // And a sync whose earlier run created the contact but died before recording it: the ledger
    // has no trace of it, and still no second contact and no second mail may appear.
    await db('portal_identities').where({ record_type: 'contact', record_id: piet.id }).del();
    await createContact('2009', { firstName: 'Quinten', lastName: 'Dubbel', email: 'quinten@c2009.test', links: { caseware: false } });
    await stack.settled('2009');
    // That sync has run (a later marker edit has arrived), so a second contact would be there now.
    expect((await stack.api('PATCH', '/clients/2009', { city: 'Marker-2009' })).status).toBe(200);
    await stack.settled('2009');
    expect((await stack.simState()).entities.find((e) => e.EntityNo === '2009')?.City).toBe('Marker-2009');
    const state = await stack.simState();
    expect(state.users.filter((u) => u.Email === 'piet@c2009.test')).toHaveLength(1);
    expect(state.mails.filter((m) => m.to === 'piet@c2009.test')).toHaveLength(1);
    expect(state.entities.filter((e) => e.EntityNo === '2009')).toHaveLength(1);
  });
});
