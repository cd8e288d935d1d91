import { describe, expect, test } from 'vitest';
import { correspondenceEmails, inheritedValues, masterOf, syncedFields, syncedFieldsIn } from '../../src/domain/masters';
import { aClient, aContact } from '../support/registry-fixtures';

// Pure rules of domain.md "Master and followers": no servers, no database.

const master = aClient({
  kind: 'person', firstName: 'Mila', infix: 'ter', lastName: 'Horst', initials: 'M.', bsn: '123456782',
  residentialStreet: 'Thuis 1', privateEmail: 'mila@thuis.test', privateMobile: '06-1', correspondenceEmailPreference: 'private',
});

describe('what a follower inherits', () => {
  test('the synced private fields, never business data or the BSN', () => {
    const values = inheritedValues(master);
    expect(Object.keys(values).sort()).toEqual([...syncedFields].sort());
    expect(values).toMatchObject({ firstName: 'Mila', infix: 'ter', lastName: 'Horst', residentialStreet: 'Thuis 1', privateEmail: 'mila@thuis.test' });
    expect(values).not.toHaveProperty('bsn');
    expect(values).not.toHaveProperty('email');
    expect(values).not.toHaveProperty('phone');
  });

  test("a master who prefers business correspondence doesn't pass his private email", () => {
    expect(inheritedValues({ ...master, correspondenceEmailPreference: 'business' }).privateEmail).toBeNull();
  });

  test('a patch touching synced fields is recognised; business fields are not synced', () => {
    expect(syncedFieldsIn({ lastName: 'x', email: 'y', phone: 'z' })).toEqual(['lastName']);
    expect(syncedFieldsIn({ email: 'y', mobile: 'z' })).toEqual([]);
  });

  test('a contact follows a person client or a contact, or nobody', () => {
    expect(masterOf(aContact({ masterClientId: 5 }))).toEqual({ type: 'client', id: 5 });
    expect(masterOf(aContact({ masterContactId: 7 }))).toEqual({ type: 'contact', id: 7 });
    expect(masterOf(aContact())).toBeNull();
  });
});

describe('addresses offered for correspondence', () => {
  const follower = (preference: 'business' | 'private') =>
    aContact({ email: 'f@werk.test', privateEmail: 'mila@thuis.test', correspondenceEmailPreference: preference, masterClientId: 5 });
  const masterWith = (preference: 'business' | 'private') => ({ label: 'person client 2001', correspondenceEmailPreference: preference });

  test.each([
    ['private', 'private', ['business', 'private'], []],
    ['private', 'business', ['business'], ['private']],
    ['business', 'private', ['business'], ['private']],
    ['business', 'business', ['business'], ['private']],
  ] as const)('master %s × follower %s', (masterPreference, followerPreference, offered, notOffered) => {
    const result = correspondenceEmails(follower(followerPreference), masterWith(masterPreference));
    expect(result.addresses.map((a) => a.kind)).toEqual(offered);
    expect(result.notOffered.map((a) => a.kind)).toEqual(notOffered);
    for (const reason of result.notOffered.map((n) => n.reason)) expect(reason).toContain('person client 2001');
  });
});
