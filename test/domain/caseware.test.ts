import { describe, expect, test } from 'vitest';
import {
  caseWareLimits,
  clientExclusion,
  desiredCaseWareState,
  normaliseLoginKey,
  type DesiredCaseWareState,
} from '../../src/domain/caseware';
import { aClient, aContact } from '../support/registry-fixtures';

// Pure rules of domain.md "CaseWare Cloud rules" and "Personal data": no servers, no database.

/** The private data a person carries in the registry; none of it may reach CaseWare Cloud. */
const privateData = {
  bsn: '123456782',
  residentialStreet: 'Geheimweg 7',
  residentialPostcode: '9999 ZZ',
  residentialCity: 'Verborgen',
  residentialCountry: 'Privéland',
  correspondenceStreet: 'Postbus 4242',
  correspondencePostcode: '8888 YY',
  correspondenceCity: 'Briefstad',
  correspondenceCountry: 'Postland',
  privateEmail: 'thuis.prive@home.test',
  privateMobile: '06-99999999',
};
const privateValues = Object.values(privateData);

const sentContactIds = (state: DesiredCaseWareState) => state.contacts.map((c) => c.contactId);

describe('which clients go to CaseWare Cloud', () => {
  test('a linked company that is a client becomes an entity', () => {
    const client = aClient();
    const contact = aContact();
    const state = desiredCaseWareState(client, [contact]);
    expect(clientExclusion(client)).toBeNull();
    expect(state.clientNumber).toBe('1001');
    expect(state.clientId).toBe(10);
    expect(state.exclusion).toBeNull();
    expect(state.entity).not.toBeNull();
    expect(state.entity?.EntityNo).toBe('1001');
    expect(sentContactIds(state)).toEqual([contact.id]);
    expect(state.conflicts).toEqual([]);
  });

  test.each([
    ['a person client', { kind: 'person' as const, firstName: 'Piet', lastName: 'Jansen' }, 'person-client'],
    ['a suspect', { status: 'suspect' as const }, 'suspect'],
    ['a former client', { status: 'former' as const }, 'former-client'],
    ['a company with its switch off', { links: { caseware: false, clientOnline: true } }, 'client-not-linked'],
    [
      'a person client with its switch off',
      { kind: 'person' as const, links: { caseware: false, clientOnline: false } },
      'person-client',
    ],
  ])('%s is not sent, nor are its linked contacts', (_label, overrides, exclusion) => {
    const client = aClient(overrides);
    const state = desiredCaseWareState(client, [aContact(), aContact({ email: null })]);
    expect(clientExclusion(client)).toBe(exclusion);
    expect(state.entity).toBeNull();
    expect(state.exclusion).toBe(exclusion);
    expect(state.contacts).toEqual([]);
    // An excluded client's contacts are not even checked: their data problems are not CaseWare's.
    expect(state.conflicts).toEqual([]);
    expect(state.clientNumber).toBe('1001');
  });
});

describe('which contacts go to CaseWare Cloud', () => {
  test('a contact is sent only when its own switch and its client’s switch are on', () => {
    const linked = aContact();
    const unlinked = aContact({ links: { caseware: false, clientOnline: true } });
    const state = desiredCaseWareState(aClient(), [linked, unlinked]);
    expect(sentContactIds(state)).toEqual([linked.id]);

    const clientOff = desiredCaseWareState(aClient({ links: { caseware: false, clientOnline: false } }), [linked]);
    expect(clientOff.contacts).toEqual([]);
    expect(clientOff.entity).toBeNull();
  });

  test('a deleted contact is not sent, and its data problems are no conflict', () => {
    const live = aContact();
    const deleted = aContact({ deletedAt: new Date('2024-02-01T00:00:00Z') });
    const deletedWithoutEmail = aContact({ email: null, deletedAt: new Date('2024-02-01T00:00:00Z') });
    const state = desiredCaseWareState(aClient(), [deleted, live, deletedWithoutEmail]);
    expect(sentContactIds(state)).toEqual([live.id]);
    expect(state.conflicts).toEqual([]);
  });

  test('an unlinked contact without email is no conflict', () => {
    const state = desiredCaseWareState(aClient(), [aContact({ email: null, links: { caseware: false, clientOnline: false } })]);
    expect(state.contacts).toEqual([]);
    expect(state.conflicts).toEqual([]);
    expect(state.entity).not.toBeNull();
  });

  test('a contact of another client is never sent with this one', () => {
    const own = aContact();
    const foreign = aContact({ clientId: 11, clientNumber: '1002' });
    expect(sentContactIds(desiredCaseWareState(aClient(), [foreign, own]))).toEqual([own.id]);
  });

  test('contacts come out in the order they were registered (id order)', () => {
    const [first, second, third] = [aContact(), aContact(), aContact()];
    const state = desiredCaseWareState(aClient(), [third, first, second]);
    expect(sentContactIds(state)).toEqual([first.id, second.id, third.id]);
  });
});

describe('what is sent', () => {
  test('the entity carries the company fields, named as CaseWare Cloud names them', () => {
    const state = desiredCaseWareState(aClient(), []);
    expect(state.entity).toEqual({
      Name: 'Bakkerij De Korenschoof B.V.',
      EntityNo: '1001',
      Address: 'Kerkstraat 1',
      PostalCode: '1234 AB',
      City: 'Utrecht',
      Country: 'NL',
      Phone: '030-1234567',
      Email: 'info@korenschoof.test',
      Website: 'https://korenschoof.test',
      Facebook: 'korenschoof',
      Twitter: 'korenschoof_nl',
      LinkedIn: 'https://linkedin.test/korenschoof',
    });
  });

  test('missing company data is sent as null', () => {
    const client = aClient({ address: null, postcode: null, city: null, country: null, phone: null, email: null, website: null, facebook: null, twitter: null, linkedin: null });
    const entity = desiredCaseWareState(client, []).entity;
    expect(entity).toEqual({
      Name: client.name, EntityNo: '1001', Address: null, PostalCode: null, City: null, Country: null,
      Phone: null, Email: null, Website: null, Facebook: null, Twitter: null, LinkedIn: null,
    });
  });

  test('a contact carries its name, business email and phones; the infix becomes MiddleName', () => {
    const contact = aContact({ email: 'anna@korenschoof.test' });
    const [sent] = desiredCaseWareState(aClient(), [contact]).contacts;
    expect(sent).toEqual({
      contactId: contact.id,
      loginKey: 'anna@korenschoof.test',
      fields: {
        FirstName: 'Anna',
        MiddleName: 'van der',
        LastName: 'Berg',
        Initials: 'A.M.',
        Email: 'anna@korenschoof.test',
        Phone: '030-7654321',
        MobilePhone: '06-12345678',
      },
    });
  });

  test('no BSN and no private data of the client or its contacts appear anywhere in the output', () => {
    // A company with private data filled in (a sole trader's registry record) and a DGA contact.
    const client = aClient({ ...privateData, firstName: 'Dirk', lastName: 'Grootaandeel' });
    const contact = aContact({ ...privateData, email: 'dirk@korenschoof.test', correspondenceEmailPreference: 'private' });
    const state = desiredCaseWareState(client, [contact]);
    expect(state.entity).not.toBeNull();
    expect(state.contacts).toHaveLength(1);
    const serialised = JSON.stringify(state);
    for (const value of privateValues) expect(serialised).not.toContain(value);
    expect(serialised).not.toMatch(/bsn|private|residential|correspondence/i);
  });

  test('the login key is the email trimmed and lower-cased', () => {
    expect(normaliseLoginKey('  Anna.Berg@KorenSchoof.TEST \t')).toBe('anna.berg@korenschoof.test');
    const contact = aContact({ email: 'Anna.Berg@KorenSchoof.TEST ' });
    const [sent] = desiredCaseWareState(aClient(), [contact]).contacts;
    expect(sent?.loginKey).toBe('anna.berg@korenschoof.test');
  });
});

describe('what CaseWare Cloud forbids becomes a conflict', () => {
  test('a linked contact without email is a missing-email conflict that names ids only', () => {
    const withoutEmail = aContact({ email: null, firstName: 'Ivo', infix: 'ter', lastName: 'Zonderadres' });
    const fine = aContact();
    const state = desiredCaseWareState(aClient(), [withoutEmail, fine]);
    expect(sentContactIds(state)).toEqual([fine.id]);
    expect(state.entity).not.toBeNull();
    expect(state.conflicts).toHaveLength(1);
    const [conflict] = state.conflicts;
    expect(conflict).toMatchObject({ recordType: 'contact', recordId: withoutEmail.id, code: 'missing-email' });
    expect(conflict!.message).toContain(`contact ${withoutEmail.id}`);
    expect(conflict!.message).toContain('client 1001');
    expect(conflict!.message).not.toMatch(/@/);
    for (const personal of ['Ivo', 'Zonderadres', 'Berg', 'Korenschoof']) expect(conflict!.message).not.toContain(personal);
  });

  test('an entity name over 60 characters blocks the entity and its contacts with one conflict', () => {
    const atLimit = 'N'.repeat(caseWareLimits.entityName);
    expect(caseWareLimits.entityName).toBe(60);
    expect(desiredCaseWareState(aClient({ name: atLimit }), [aContact()]).entity?.Name).toBe(atLimit);

    const longName = `Bakkerij ${'Lang'.repeat(13)}`;
    expect(longName.length).toBe(61);
    const state = desiredCaseWareState(aClient({ name: longName }), [aContact()]);
    expect(state.entity).toBeNull();
    expect(state.exclusion).toBeNull();
    expect(state.contacts).toEqual([]);
    expect(state.conflicts).toEqual([expect.objectContaining({ recordType: 'client', recordId: 10, code: 'field-too-long' })]);
    expect(state.conflicts[0]!.message).toContain('client 1001');
    expect(state.conflicts[0]!.message).not.toContain('Lang');
  });

  test('a first name over 30 characters is a field-too-long conflict for that contact only', () => {
    expect(caseWareLimits.firstName).toBe(30);
    const atLimit = aContact({ firstName: 'F'.repeat(30) });
    const tooLong = aContact({ firstName: 'Maximiliaan-Alexander-Frederik' + 'x' });
    const state = desiredCaseWareState(aClient(), [atLimit, tooLong]);
    expect(sentContactIds(state)).toEqual([atLimit.id]);
    expect(state.conflicts).toEqual([expect.objectContaining({ recordType: 'contact', recordId: tooLong.id, code: 'field-too-long' })]);
    expect(state.conflicts[0]!.message).toContain(`contact ${tooLong.id} at client 1001`);
    expect(state.conflicts[0]!.message).not.toContain('Maximiliaan');
  });

  test('an email over 100 characters is a field-too-long conflict for that contact only', () => {
    expect(caseWareLimits.email).toBe(100);
    const domain = '@korenschoof.test';
    const atLimit = aContact({ email: 'a'.repeat(100 - domain.length) + domain });
    const tooLong = aContact({ email: 'b'.repeat(101 - domain.length) + domain });
    expect(atLimit.email).toHaveLength(100);
    expect(tooLong.email).toHaveLength(101);
    const state = desiredCaseWareState(aClient(), [tooLong, atLimit]);
    expect(sentContactIds(state)).toEqual([atLimit.id]);
    expect(state.conflicts).toEqual([expect.objectContaining({ recordType: 'contact', recordId: tooLong.id, code: 'field-too-long' })]);
    expect(state.conflicts[0]!.message).toContain(`contact ${tooLong.id} at client 1001`);
    expect(state.conflicts[0]!.message).not.toMatch(/@|bbbb/);
  });

  test('every conflict of a mixed set comes out, each for its own record, in id order', () => {
    const noEmail = aContact({ email: null });
    const fine = aContact();
    const longFirst = aContact({ firstName: 'X'.repeat(31) });
    const state = desiredCaseWareState(aClient(), [longFirst, fine, noEmail]);
    expect(sentContactIds(state)).toEqual([fine.id]);
    expect(state.conflicts.map((c) => [c.recordId, c.code])).toEqual([
      [noEmail.id, 'missing-email'],
      [longFirst.id, 'field-too-long'],
    ]);
  });
});
