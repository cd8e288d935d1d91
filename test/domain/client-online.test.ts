import { describe, expect, test } from 'vitest';
import { contactRef, desiredClientOnlineState, personClientRef, type ClientOnlineMasters } from '../../src/domain/client-online';
import type { Client } from '../../src/registry/schemas';
import { aClient, aContact } from '../support/registry-fixtures';

// Pure rules of domain.md "Client Online rules" and seed article 004: no servers, no database.

const noMasters: ClientOnlineMasters = new Map();
const options = { sendBsn: false };

const person = (overrides: Partial<Client> = {}) =>
  aClient({
    id: 50, clientNumber: '2001', kind: 'person', name: 'P. de Vries', firstName: 'Piet', infix: 'de', lastName: 'Vries',
    initials: 'P.', email: null, privateEmail: 'piet@home.test', privateMobile: '06-11111111', bsn: '123456782',
    correspondenceEmailPreference: 'private', ...overrides,
  });

describe('which clients Client Online holds', () => {
  test('linked company and person clients are pushed; suspects, former clients and unlinked ones are not', () => {
    expect(desiredClientOnlineState(aClient(), [aContact()], noMasters, options).push).not.toBeNull();
    expect(desiredClientOnlineState(person(), [], noMasters, options).push).not.toBeNull();
    expect(desiredClientOnlineState(aClient({ status: 'suspect' }), [aContact()], noMasters, options)).toMatchObject({ push: null, exclusion: 'suspect' });
    expect(desiredClientOnlineState(aClient({ status: 'former' }), [aContact()], noMasters, options)).toMatchObject({ push: null, exclusion: 'former-client' });
    expect(desiredClientOnlineState(aClient({ links: { caseware: true, clientOnline: false } }), [aContact()], noMasters, options))
      .toMatchObject({ push: null, exclusion: 'client-not-linked' });
  });

  test('only contacts with their own switch on, not deleted, become client users', () => {
    const on = aContact();
    const off = aContact({ links: { caseware: true, clientOnline: false } });
    const deleted = aContact({ deletedAt: new Date() });
    const state = desiredClientOnlineState(aClient(), [off, deleted, on], noMasters, options);
    expect(state.push?.users.map((u) => u.ref)).toEqual([contactRef(on)]);
  });

  test('a linked company without a client user is a sync error naming the client', () => {
    const state = desiredClientOnlineState(aClient(), [aContact({ links: { caseware: true, clientOnline: false } })], noMasters, options);
    expect(state.conflicts).toEqual([expect.objectContaining({ recordType: 'client', code: 'no-client-user' })]);
    expect(state.conflicts[0]!.message).toContain('client 1001 has no client user');
  });
});

describe('one login per real person', () => {
  test('a person client with no contacts is its own client user, with its private email and mobile', () => {
    const p = person();
    const state = desiredClientOnlineState(p, [], noMasters, options);
    expect(state.push?.users).toEqual([
      { ref: personClientRef(p), firstName: 'Piet', infix: 'de', lastName: 'Vries', initials: 'P.', email: 'piet@home.test', mobile: '06-11111111' },
    ]);
  });

  test("a contact following person client P logs in as P: P's ref and P's details, not the contact's", () => {
    const p = person();
    const dga = aContact({ firstName: 'Pietje', email: 'piet@bakkerij.test', masterClientId: p.id });
    const state = desiredClientOnlineState(aClient(), [dga], new Map([[personClientRef(p), p]]), options);
    expect(state.push?.users).toEqual([expect.objectContaining({ ref: personClientRef(p), email: 'piet@home.test', firstName: 'Piet' })]);
    expect(contactRef(dga)).toBe(personClientRef(p));
  });

  test('P and Q at one company are two logins; neither person client is pushed under the other', () => {
    const p = person();
    const q = person({ id: 51, clientNumber: '2002', firstName: 'Quinten', privateEmail: 'q@home.test' });
    const contacts = [aContact({ masterClientId: p.id }), aContact({ masterClientId: q.id })];
    const company = desiredClientOnlineState(aClient(), contacts, new Map([[personClientRef(p), p], [personClientRef(q), q]]), options);
    expect(company.push?.users.map((u) => u.ref)).toEqual([personClientRef(p), personClientRef(q)]);
    expect(desiredClientOnlineState(p, [], noMasters, options).push?.users.map((u) => u.ref)).toEqual([personClientRef(p)]);
    expect(desiredClientOnlineState(q, [], noMasters, options).push?.users.map((u) => u.ref)).toEqual([personClientRef(q)]);
  });

  test("a contact following a master contact logs in as that contact: its ref, business email and mobile", () => {
    // The master's own company pushes its business email (by its preference) and its mobile.
    const master = aContact({ id: 300, clientId: 11, clientNumber: '1002', email: 'anna@a.test', mobile: '06-10000000', firstName: 'Anna' });
    const follower = aContact({ email: 'anna@b.test', mobile: '06-20000000', firstName: 'Anna', masterContactId: master.id });
    const masters: ClientOnlineMasters = new Map([[contactRef(follower), master]]);
    const atB = desiredClientOnlineState(aClient(), [follower], masters, options);
    const atA = desiredClientOnlineState(aClient({ id: 11, clientNumber: '1002' }), [master], noMasters, options);
    expect(atB.push?.users).toEqual(atA.push?.users);
    expect(atB.push?.users).toEqual([expect.objectContaining({ ref: 'c-300', email: 'anna@a.test', mobile: '06-10000000' })]);
  });

  test('a master contact preferring private correspondence gives its followers its private address as username', () => {
    const master = aContact({ id: 301, email: 'bert@a.test', privateEmail: 'bert@home.test', correspondenceEmailPreference: 'private' });
    const follower = aContact({ email: 'bert@b.test', masterContactId: master.id });
    const state = desiredClientOnlineState(aClient(), [follower], new Map([[contactRef(follower), master]]), options);
    expect(state.push?.users).toEqual([expect.objectContaining({ ref: 'c-301', email: 'bert@home.test' })]);
  });

  test('two registrations of one person at one company are one client user', () => {
    const p = person();
    const state = desiredClientOnlineState(aClient(), [aContact({ masterClientId: p.id }), aContact({ masterClientId: p.id })], new Map([[personClientRef(p), p]]), options);
    expect(state.push?.users).toHaveLength(1);
    expect(state.conflicts).toEqual([]);
  });

  test('two unlinked contacts sharing an email: the second is a sync error, not a second username', () => {
    const first = aContact({ email: 'info@bakkerij.test' });
    const second = aContact({ email: 'info@bakkerij.test' });
    const state = desiredClientOnlineState(aClient(), [second, first], noMasters, options);
    expect(state.push?.users.map((u) => u.ref)).toEqual([contactRef(first)]);
    expect(state.conflicts).toEqual([expect.objectContaining({ recordId: second.id, code: 'shared-email' })]);
  });

  test('a contact without any email is a sync error that names ids only', () => {
    const nameless = aContact({ email: null, firstName: 'Geheim', lastName: 'Persoon' });
    const state = desiredClientOnlineState(aClient(), [nameless, aContact()], noMasters, options);
    const conflict = state.conflicts.find((c) => c.recordId === nameless.id);
    expect(conflict?.code).toBe('missing-email');
    expect(conflict?.message).toContain(`contact ${nameless.id} at client 1001`);
    expect(conflict?.message).not.toMatch(/Geheim|Persoon|@/);
  });
});

describe('personal data', () => {
  test('a BSN is sent only for person clients and only when the firm switches it on', () => {
    expect(desiredClientOnlineState(person(), [], noMasters, { sendBsn: false }).push).not.toHaveProperty('bsn');
    expect(desiredClientOnlineState(person(), [], noMasters, { sendBsn: true }).push?.bsn).toBe('123456782');
    expect(desiredClientOnlineState(aClient({ bsn: '123456782' }), [aContact()], noMasters, { sendBsn: true }).push).not.toHaveProperty('bsn');
  });
});
