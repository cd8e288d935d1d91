import { z } from 'zod';
import type { Client, Contact } from '../registry/schemas';
import { clientKindSchema, clientStatusSchema, emailPreferenceSchema, linksSchema } from '../registry/schemas';
import type { ClientSyncStatus, SyncError } from '../registry/sync-status';

// What the API answers. Lenient where the request schemas are strict: a response describes what
// the registry holds, and rows written by the sync or by hand must not turn a read into a 500.
// Dates leave as ISO 8601 strings (the serializer stringifies them; OpenAPI shows date-time).

const storedText = z.string().nullable();
const timestamp = z.date();

const privatePersonResponseFields = {
  firstName: storedText,
  infix: storedText,
  lastName: storedText,
  initials: storedText,
  bsn: storedText,
  residentialStreet: storedText,
  residentialPostcode: storedText,
  residentialCity: storedText,
  residentialCountry: storedText,
  correspondenceStreet: storedText,
  correspondencePostcode: storedText,
  correspondenceCity: storedText,
  correspondenceCountry: storedText,
  privateEmail: storedText,
  privateMobile: storedText,
  correspondenceEmailPreference: emailPreferenceSchema,
};

export const clientResponseSchema = z
  .object({
    id: z.number().int(),
    clientNumber: z.string(),
    kind: clientKindSchema,
    status: clientStatusSchema,
    name: z.string(),
    address: storedText,
    postcode: storedText,
    city: storedText,
    country: storedText,
    phone: storedText,
    email: storedText,
    website: storedText,
    facebook: storedText,
    twitter: storedText,
    linkedin: storedText,
    ...privatePersonResponseFields,
    links: linksSchema,
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Client' });

export const contactResponseSchema = z
  .object({
    id: z.number().int(),
    clientId: z.number().int(),
    clientNumber: z.string(),
    email: storedText,
    phone: storedText,
    mobile: storedText,
    ...privatePersonResponseFields,
    links: linksSchema,
    masterClientId: z.number().int().nullable(),
    masterContactId: z.number().int().nullable(),
    deletedAt: timestamp.nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Contact' });

export const clientWithContactsResponseSchema = clientResponseSchema
  .extend({ contacts: z.array(contactResponseSchema) })
  .meta({ id: 'ClientWithContacts' });

const portalSchema = z.enum(['caseware', 'clientOnline']);

export const syncErrorResponseSchema = z
  .object({
    id: z.number().int(),
    portal: portalSchema,
    recordType: z.string(),
    recordId: z.number().int(),
    clientNumber: z.string(),
    code: z.string(),
    message: z.string(),
    firstSeenAt: timestamp,
    lastSeenAt: timestamp,
    resolvedAt: timestamp.nullable(),
  })
  .meta({ id: 'SyncError' });

export const syncErrorListResponseSchema = z.object({ errors: z.array(syncErrorResponseSchema) });

const portalSyncStatusSchema = z
  .object({
    linked: z.boolean().describe("the client's link switch for this portal"),
    state: z.enum(['not-linked', 'pending', 'in-sync', 'error']),
    appliedEventId: z.number().int().describe('newest outbox event the portal has received; 0 when none'),
    lastSyncedAt: timestamp.nullable(),
    remote: z.array(
      z.object({
        recordType: z.string(),
        recordId: z.number().int(),
        remoteId: z.string().nullable(),
        access: z.string(),
        syncedAt: timestamp.nullable(),
      }),
    ),
    errors: z.array(syncErrorResponseSchema).describe('open sync errors'),
  })
  .meta({ id: 'PortalSyncStatus' });

export const clientSyncStatusResponseSchema = z
  .object({
    clientNumber: z.string(),
    caseware: portalSyncStatusSchema,
    clientOnline: portalSyncStatusSchema,
    pendingEvents: z
      .array(
        z.object({
          id: z.number().int(),
          kind: z.string(),
          recordType: z.string(),
          recordId: z.number().int(),
          createdAt: timestamp,
          attempts: z.number().int(),
          lastError: z.string().nullable(),
        }),
      )
      .describe('changes not yet handed to the sync'),
  })
  .meta({ id: 'ClientSyncStatus' });

// The response schemas must describe exactly the registry's records: these fail to compile
// when a field is added to one side only.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _clientShape: Same<z.output<typeof clientResponseSchema>, Client> = true;
const _contactShape: Same<z.output<typeof contactResponseSchema>, Contact> = true;
const _syncErrorShape: Same<z.output<typeof syncErrorResponseSchema>, SyncError> = true;
const _syncStatusShape: Same<z.output<typeof clientSyncStatusResponseSchema>, ClientSyncStatus> = true;
