import type { Client, Contact } from '../registry/schemas';

/**
 * Master and followers (hoofd/volger; domain.md, seed article 002): one registration holds a real
 * person's private data, the others follow it. Pure rules; the registry applies them.
 */

/** The private data a follower takes from its master. Business data never follows. */
export const syncedFields = [
  'firstName',
  'infix',
  'lastName',
  'initials',
  'residentialStreet',
  'residentialPostcode',
  'residentialCity',
  'residentialCountry',
  'correspondenceStreet',
  'correspondencePostcode',
  'correspondenceCity',
  'correspondenceCountry',
  'privateEmail',
  'privateMobile',
] as const;

export type SyncedField = (typeof syncedFields)[number];
export type InheritedValues = Pick<Contact, SyncedField>;

type MasterRecord = Pick<Client | Contact, SyncedField | 'correspondenceEmailPreference'>;

/**
 * The values a follower takes from its master. A master who prefers business correspondence keeps
 * his private email to himself: followers get none.
 */
export function inheritedValues(master: MasterRecord): InheritedValues {
  const values = {} as Record<SyncedField, string | null>;
  for (const field of syncedFields) values[field] = master[field];
  if (master.correspondenceEmailPreference === 'business') values.privateEmail = null;
  return values;
}

/** The synced fields a patch of a follower would change: refused while the link lasts. */
export function syncedFieldsIn(patch: object): SyncedField[] {
  return syncedFields.filter((field) => field in patch);
}

export interface MasterRef {
  type: 'client' | 'contact';
  id: number;
}

export function masterOf(contact: Pick<Contact, 'masterClientId' | 'masterContactId'>): MasterRef | null {
  if (contact.masterClientId !== null) return { type: 'client', id: contact.masterClientId };
  if (contact.masterContactId !== null) return { type: 'contact', id: contact.masterContactId };
  return null;
}

export function describeMaster(master: MasterRef, clientNumber?: string): string {
  return master.type === 'client' ? `person client ${clientNumber ?? master.id}` : `contact ${master.id}`;
}

export interface CorrespondenceEmails {
  /** Addresses that may be chosen for correspondence to the contact. */
  addresses: { address: string; kind: 'business' | 'private' }[];
  /** Addresses the contact has that may not be chosen, and why. */
  notOffered: { kind: 'business' | 'private'; reason: string }[];
}

/**
 * Which of a contact's addresses may be used for correspondence. A follower that prefers business
 * correspondence is not offered the private email it inherited from its master.
 */
export function correspondenceEmails(
  contact: Pick<Contact, 'email' | 'privateEmail' | 'correspondenceEmailPreference' | 'masterClientId' | 'masterContactId'>,
  master?: { label: string; correspondenceEmailPreference: 'business' | 'private' },
): CorrespondenceEmails {
  const result: CorrespondenceEmails = { addresses: [], notOffered: [] };
  if (contact.email) result.addresses.push({ address: contact.email, kind: 'business' });
  const following = masterOf(contact) !== null;
  if (following && master?.correspondenceEmailPreference === 'business') {
    result.notOffered.push({
      kind: 'private',
      reason: `${master.label} prefers business correspondence, so its private email is not passed to followers`,
    });
  } else if (contact.privateEmail) {
    if (following && contact.correspondenceEmailPreference === 'business') {
      result.notOffered.push({
        kind: 'private',
        reason: `the private email is inherited from ${master?.label ?? 'the master'} and this contact prefers business correspondence`,
      });
    } else {
      result.addresses.push({ address: contact.privateEmail, kind: 'private' });
    }
  }
  return result;
}
