import type { Client, Contact } from '../../src/registry/schemas';

// Registry records for pure unit tests: a complete record with only what a test cares about changed.

const registeredAt = new Date('2024-01-02T03:04:05Z');

const noPrivateData = {
  firstName: null,
  infix: null,
  lastName: null,
  initials: null,
  bsn: null,
  residentialStreet: null,
  residentialPostcode: null,
  residentialCity: null,
  residentialCountry: null,
  correspondenceStreet: null,
  correspondencePostcode: null,
  correspondenceCity: null,
  correspondenceCountry: null,
  privateEmail: null,
  privateMobile: null,
  correspondenceEmailPreference: 'business',
} as const;

export function aClient(overrides: Partial<Client> = {}): Client {
  return {
    id: 10,
    clientNumber: '1001',
    kind: 'company',
    status: 'client',
    name: 'Bakkerij De Korenschoof B.V.',
    address: 'Kerkstraat 1',
    postcode: '1234 AB',
    city: 'Utrecht',
    country: 'NL',
    phone: '030-1234567',
    email: 'info@korenschoof.test',
    website: 'https://korenschoof.test',
    facebook: 'korenschoof',
    twitter: 'korenschoof_nl',
    linkedin: 'https://linkedin.test/korenschoof',
    ...noPrivateData,
    links: { caseware: true, clientOnline: true },
    createdAt: registeredAt,
    updatedAt: registeredAt,
    ...overrides,
  };
}

let nextContactId = 100;

export function aContact(overrides: Partial<Contact> = {}): Contact {
  nextContactId += 1;
  return {
    id: nextContactId,
    clientId: 10,
    clientNumber: '1001',
    email: `contact${nextContactId}@korenschoof.test`,
    phone: '030-7654321',
    mobile: '06-12345678',
    ...noPrivateData,
    firstName: 'Anna',
    infix: 'van der',
    lastName: 'Berg',
    initials: 'A.M.',
    links: { caseware: true, clientOnline: true },
    masterClientId: null,
    masterContactId: null,
    deletedAt: null,
    createdAt: registeredAt,
    updatedAt: registeredAt,
    ...overrides,
  };
}
