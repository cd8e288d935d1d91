import { z } from 'zod';
import { clientNumberSchema } from '../registry/schemas';

// The shapes of GET /audit (issue 18): what each token did, newest first, filtered and paged.

const limitMessage = 'the limit is a whole number from 1 to 500';
const momentMessage = 'a moment in ISO 8601 with its offset, e.g. 2026-12-06T09:00:00Z';
const moment = z.iso.datetime({ offset: true, error: momentMessage }).transform((value) => new Date(value));

// Strict: a misspelt filter must not answer the whole audit as if it had been applied.
export const auditQuerySchema = z.strictObject({
  token: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,62}$|^\(database\)$/, 'a token name is 1 to 63 lower-case letters, digits, ".", "_" or "-"; or (database)')
    .optional()
    .describe('only what this token did (`api`: the built-in token; `(database)`: `portal-sync tokens` on the database)'),
  route: z
    .string()
    .regex(/^\/[A-Za-z0-9/:._-]{0,200}$/, 'a route is a path pattern such as /clients/:number or /offboardings')
    .optional()
    .describe('only this route and those under it, as patterns: /clients finds /clients/:number/contacts too'),
  method: z.enum(['POST', 'PUT', 'PATCH', 'DELETE'], { error: 'the method is POST, PUT, PATCH or DELETE' }).optional(),
  clientNumber: clientNumberSchema.optional().describe('only events that name this client (by number, as a master, among the companies)'),
  recordId: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,64}$/, 'a record id is 1 to 64 letters, digits, ".", "_", ":" or "-"')
    .optional()
    .describe("only events that name this record: the route's own id (a client, contact, offboarding, reconcile run, file request), a contact, or a token by name; ids of different kinds of record may be equal, so combine it with `route`"),
  since: moment.optional().describe('from this moment on (included)'),
  until: moment.optional().describe('before this moment'),
  before: z
    .string()
    .regex(/^[1-9][0-9]{0,14}$/, 'before is an event id: a positive whole number')
    .transform(Number)
    .optional()
    .describe('the next page: events older than this id (the `next` of the page before)'),
  limit: z
    .string()
    .regex(/^[0-9]{1,4}$/, limitMessage)
    .transform(Number)
    .pipe(z.number().min(1, limitMessage).max(500, limitMessage))
    .default(100)
    .describe('at most this many events (default 100)'),
});

export const auditEventSchema = z
  .object({
    id: z.number().int(),
    at: z.date(),
    token: z.string().describe('the name of the token (`api`: the built-in token; `(database)`: `portal-sync tokens` on the database)'),
    method: z.string(),
    route: z.string().describe('the route pattern, e.g. /clients/:number'),
    status: z.number().int().describe('the answer: 2xx done, 403 refused (the role, or four eyes)'),
    recordIds: z
      .record(z.string(), z.union([z.string(), z.array(z.string())]))
      .describe('the records named: clientNumber, id (the route\'s record, or the one a POST made), contactId, contactIds, companies, master.*, portal, token'),
    fields: z.array(z.string()).describe('the names of the fields sent, nested ones dotted (links.caseware), `?name` for a query parameter; never a value'),
    requestId: z.string().nullable().describe("the request's id in the API's log"),
  })
  .meta({ id: 'AuditEvent' });

export const auditListSchema = z
  .object({
    events: z.array(auditEventSchema).describe('newest first'),
    next: z.number().int().nullable().describe('more events match: pass this as `before` for the next page; null: this was the last'),
  })
  .meta({ id: 'AuditList' });
