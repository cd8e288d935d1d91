import type { CwContactFields, CwEntityFields } from '../portals/caseware/api';
import type { Client, Contact } from '../registry/schemas';

/**
 * What CaseWare Cloud should hold for one client, as a pure function of the registry
 * (domain.md, "CaseWare Cloud rules"). The activities compare it with what was sent before and
 * with CaseWare itself; nothing here does I/O.
 */

/** Field limits CaseWare Cloud enforces (portals.md). */
export const caseWareLimits = { entityName: 60, entityNumber: 10, firstName: 30, email: 100 } as const;

/** The payloads CaseWare Cloud takes, defined once with its wire shapes. */
export type CaseWareEntityFields = CwEntityFields;
export type CaseWareContactFields = CwContactFields;

/** Why a client or contact is not sent; used in messages and in the sync status. */
export type CaseWareExclusion =
  | 'client-not-linked'
  | 'person-client'
  | 'suspect'
  | 'former-client'
  | 'contact-not-linked'
  | 'contact-deleted';

/** A record the portal forbids although the registry allows it: becomes a sync error. */
export interface CaseWareConflict {
  recordType: 'client' | 'contact';
  recordId: number;
  code: 'missing-email' | 'field-too-long';
  message: string;
}

export interface DesiredCaseWareContact {
  contactId: number;
  /** The login: CaseWare's contact email, normalised; ownership is decided against the ledger. */
  loginKey: string;
  fields: CaseWareContactFields;
}

export interface DesiredCaseWareState {
  clientNumber: string;
  clientId: number;
  /** null: the client is not (or no longer) in CaseWare; its contacts lose access. */
  entity: CaseWareEntityFields | null;
  exclusion: CaseWareExclusion | null;
  /** Contacts that should have access to the entity, in the order they were registered. */
  contacts: DesiredCaseWareContact[];
  /** Linked contacts that cannot be sent, with the reason. */
  conflicts: CaseWareConflict[];
}

export function clientExclusion(client: Client): CaseWareExclusion | null {
  if (client.kind === 'person') return 'person-client';
  if (client.status === 'suspect') return 'suspect';
  if (client.status === 'former') return 'former-client';
  if (!client.links.caseware) return 'client-not-linked';
  return null;
}

export function normaliseLoginKey(email: string): string {
  return email.trim().toLowerCase();
}

export function caseWareEntityFields(client: Client): CaseWareEntityFields {
  return {
    Name: client.name,
    EntityNo: client.clientNumber,
    Address: client.address,
    PostalCode: client.postcode,
    City: client.city,
    Country: client.country,
    Phone: client.phone,
    Email: client.email,
    Website: client.website,
    Facebook: client.facebook,
    Twitter: client.twitter,
    LinkedIn: client.linkedin,
  };
}

export function caseWareContactFields(contact: Contact, email: string): CaseWareContactFields {
  return {
    FirstName: contact.firstName,
    MiddleName: contact.infix,
    LastName: contact.lastName,
    Initials: contact.initials,
    Email: email,
    Phone: contact.phone,
    MobilePhone: contact.mobile,
  };
}

function contactConflict(contact: Contact, client: Client): CaseWareConflict | null {
  const where = `contact ${contact.id} at client ${client.clientNumber}`;
  if (!contact.email) {
    return {
      recordType: 'contact',
      recordId: contact.id,
      code: 'missing-email',
      message:
        `${where} has no email address; CaseWare Cloud uses the email as login name, ` +
        'so the contact cannot be sent or updated there. Give the contact an email address of its own.',
    };
  }
  if (contact.email.length > caseWareLimits.email) {
    return {
      recordType: 'contact',
      recordId: contact.id,
      code: 'field-too-long',
      message: `${where} has an email address longer than the ${caseWareLimits.email} characters CaseWare Cloud accepts.`,
    };
  }
  if ((contact.firstName?.length ?? 0) > caseWareLimits.firstName) {
    return {
      recordType: 'contact',
      recordId: contact.id,
      code: 'field-too-long',
      message: `${where} has a first name longer than the ${caseWareLimits.firstName} characters CaseWare Cloud accepts.`,
    };
  }
  return null;
}

export function desiredCaseWareState(client: Client, contacts: readonly Contact[]): DesiredCaseWareState {
  const base = { clientNumber: client.clientNumber, clientId: client.id };
  const exclusion = clientExclusion(client);
  if (exclusion) return { ...base, entity: null, exclusion, contacts: [], conflicts: [] };

  if (client.name.length > caseWareLimits.entityName) {
    return {
      ...base,
      entity: null,
      exclusion: null,
      contacts: [],
      conflicts: [
        {
          recordType: 'client',
          recordId: client.id,
          code: 'field-too-long',
          message:
            `client ${client.clientNumber} has a name longer than the ${caseWareLimits.entityName} characters ` +
            'CaseWare Cloud accepts for an entity; shorten it to send the client and its contacts.',
        },
      ],
    };
  }

  const desired: DesiredCaseWareContact[] = [];
  const conflicts: CaseWareConflict[] = [];
  const linked = contacts
    .filter((contact) => contact.clientId === client.id && contact.deletedAt === null && contact.links.caseware)
    .sort((a, b) => a.id - b.id);
  for (const contact of linked) {
    const conflict = contactConflict(contact, client);
    if (conflict) {
      conflicts.push(conflict);
      continue;
    }
    const email = contact.email as string;
    desired.push({ contactId: contact.id, loginKey: normaliseLoginKey(email), fields: caseWareContactFields(contact, email) });
  }
  return { ...base, entity: caseWareEntityFields(client), exclusion: null, contacts: desired, conflicts };
}

/** Message for a contact whose email is already the login of another registry record. */
export function sharedEmailMessage(
  contact: { id: number; clientNumber: string },
  owner: { recordType: string; recordId: number; clientNumber: string },
): string {
  return (
    `contact ${contact.id} at client ${contact.clientNumber} has the same email address as ` +
    `${owner.recordType} ${owner.recordId} at client ${owner.clientNumber}, which was sent to CaseWare Cloud first ` +
    'and owns that login; CaseWare Cloud needs a unique email per contact. Give this contact an email address of its own.'
  );
}

/** Message for a contact that is in CaseWare but whose email was deleted in the registry. */
export function emailRemovedMessage(contact: { id: number; clientNumber: string }): string {
  return (
    `contact ${contact.id} at client ${contact.clientNumber} is in CaseWare Cloud, but its email address was deleted ` +
    'in the registry; CaseWare Cloud needs the email as login name, so changes to this contact cannot be sent. ' +
    'Give the contact an email address again, or switch its CaseWare link off.'
  );
}
