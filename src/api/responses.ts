import { z } from 'zod';
import type { Client, Contact } from '../registry/schemas';
import { clientKindSchema, clientStatusSchema, emailPreferenceSchema, linksSchema } from '../registry/schemas';
import type { ClientSyncStatus, PortalSyncStatus } from '../registry/sync-status';
import type { PortalHealth } from '../sync/health';
import type { Portal } from '../sync/portal-names';
import type { SyncError } from '../sync/sync-errors';
import { portalSchema } from './request-schemas';

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
  .extend({
    contacts: z.array(
      contactResponseSchema.extend({
        masterClientNumber: z.string().nullable().describe('the client number of the person client this contact follows (masterClientId), or null'),
      }),
    ),
  })
  .meta({ id: 'ClientWithContacts' });

export const syncErrorResponseSchema = z
  .object({
    id: z.number().int(),
    portal: portalSchema,
    recordType: z.string().describe('client or contact: the record the portal refused'),
    recordId: z.number().int(),
    clientNumber: z.string(),
    code: z.string().describe('e.g. missing-email, shared-email, no-client-user'),
    message: z.string().describe('what is wrong and, for data conflicts, what to do; names record ids and client numbers only'),
    firstSeenAt: timestamp.describe('when a sync first met the error'),
    lastSeenAt: timestamp.describe('when a sync last met it'),
    resolvedAt: timestamp.nullable().describe('when a sync found it fixed; null while open'),
  })
  .meta({ id: 'SyncError' });

export const listedSyncErrorSchema = syncErrorResponseSchema
  .extend({ attempts: z.number().int().describe('how many syncs met the error while it was open, the first included') })
  .meta({ id: 'ListedSyncError' });

export const portalHealthSchema = z
  .object({
    healthy: z.boolean().describe('false while a failure no record is to blame for (credentials, permissions, unreadable answers) stops every sync'),
    since: z.date().nullable().describe('since when the portal has been in this state; null when it never failed'),
    lastFailure: z.object({ code: z.string(), message: z.string() }).nullable().describe('the newest such failure, kept after the portal healed'),
    failures: z.number().int().describe('failures since the portal became unhealthy; 0 when healthy'),
  })
  .meta({ id: 'PortalHealth' });

export const unhealthyPortalSchema = z
  .object({
    portal: portalSchema,
    since: timestamp.nullable().describe('since when the portal has been unhealthy'),
    lastFailure: z
      .object({ code: z.string(), message: z.string() })
      .nullable()
      .describe('the newest failure: what the portal refused, and what to check'),
    failures: z.number().int().describe('failures met since it became unhealthy, one per failed sync attempt of any client'),
  })
  .meta({ id: 'UnhealthyPortal' });

export const syncErrorListResponseSchema = z
  .object({
    errors: z.array(listedSyncErrorSchema).describe('at most `limit` errors, the most recently seen first'),
    total: z.number().int().describe('how many errors match the filter; more than listed when the limit cut the list'),
    portals: z
      .array(unhealthyPortalSchema)
      .describe(
        'each portal that cannot be used at all (credentials, permissions, unreadable answers), listed once however many ' +
          'clients wait for it, and no error per record; empty when every portal works. Only the portal filter narrows it: ' +
          'such a portal holds back every client',
      ),
  })
  .meta({ id: 'SyncErrorList' });

const portalSyncStatusSchema = z
  .object({
    linked: z.boolean().describe("the client's link switch for this portal"),
    state: z.enum(['not-linked', 'pending', 'in-sync', 'error']),
    held: z
      .boolean()
      .describe('an operator holds the portal (PUT /sync/portals/:portal/hold): nothing is written to it; the changes wait, pending, until it is released'),
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

// The response schemas must describe exactly the records they answer (the registry's, the
// ledger's, the health store's): these fail to compile when a field is added to one side only.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _clientShape: Same<z.output<typeof clientResponseSchema>, Client> = true;
const _contactShape: Same<z.output<typeof contactResponseSchema>, Contact> = true;
const _syncErrorShape: Same<z.output<typeof syncErrorResponseSchema>, Omit<SyncError, 'attempts'>> = true;
const _listedSyncErrorShape: Same<z.output<typeof listedSyncErrorSchema>, SyncError> = true;
const _healthShape: Same<z.output<typeof portalHealthSchema>, PortalHealth> = true;
const _unhealthyShape: Same<z.output<typeof unhealthyPortalSchema>, Omit<PortalHealth, 'healthy'> & { portal: Portal }> = true;
// A client's status answers its open errors without `attempts` (GET /sync/errors lists them with
// it): the response schema leaves the field out of the answer.
type PortalSyncStatusAnswered = Omit<PortalSyncStatus, 'errors'> & { errors: Omit<SyncError, 'attempts'>[] };
type ClientSyncStatusAnswered = Omit<ClientSyncStatus, 'caseware' | 'clientOnline'> & Record<'caseware' | 'clientOnline', PortalSyncStatusAnswered>;
const _syncStatusShape: Same<z.output<typeof clientSyncStatusResponseSchema>, ClientSyncStatusAnswered> = true;
