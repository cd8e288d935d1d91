import { z } from 'zod';
import { fileRequestStatuses } from '../domain/file-requests';
import { clientNumberSchema, storableText } from '../registry/schemas';

// The file-request routes' shapes (issue 13).

const contactIdSchema = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const dueDateSchema = z
  .union([z.iso.date(), z.iso.datetime({ offset: true })])
  .describe('a date (due at the end of that day, UTC) or a moment with its offset; must lie ahead');

export const fileRequestCreateSchema = z
  .strictObject({
    clientNumber: clientNumberSchema,
    subject: storableText().trim().min(1).max(200).describe('sent to CaseWare Cloud; never to Temporal'),
    description: storableText().max(5000).default('').describe('sent to CaseWare Cloud; never to Temporal'),
    dueDate: dueDateSchema.optional(),
    contactIds: z
      .array(contactIdSchema)
      .min(1)
      .max(100)
      .optional()
      .describe(
        'default: every contact of the client linked to CaseWare Cloud with the role "Contact - Entity Staff" (with grantAnswerRole, also every one that may only view)',
      ),
    grantAnswerRole: z
      .boolean()
      .optional()
      .describe(
        'give a contact that may only view ("Contact - Entity Access") the role "Contact - Entity Staff" instead of refusing it: each named one, or without contactIds every such contact of the client',
      ),
  })
  .meta({ id: 'FileRequestCreate' });

export type FileRequestCreateBody = z.infer<typeof fileRequestCreateSchema>;

const recipientSchema = z.object({
  contactId: z.number().int(),
  name: z.string().nullable().describe("the contact's name as the registry has it (first name, infix, last name); null without one"),
  status: z.enum(['active', 'removed']),
  removedReason: z.string().nullable(),
  removedAt: z.string().nullable(),
});

export const fileRequestResponseSchema = z
  .object({
    id: z.number().int(),
    clientNumber: z.string(),
    subject: z.string(),
    description: z.string(),
    dueAt: z.string().nullable(),
    status: z.enum(fileRequestStatuses as [string, ...string[]]),
    workflowId: z.string(),
    remoteId: z.string().nullable().describe("the request's CWGuid in CaseWare Cloud, once created"),
    remindersSent: z.number().int(),
    lastRemindedAt: z.string().nullable(),
    filesReceived: z.number().int(),
    answeredByContactId: z.number().int().nullable(),
    requestedBy: z.string(),
    cancelledBy: z.string().nullable(),
    failure: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    closedAt: z.string().nullable(),
    recipients: z.array(recipientSchema),
  })
  .meta({ id: 'FileRequest' });

// Digits only, with messages that say so: a coerced number would answer "received NaN" for text.
const listLimitMessage = 'the limit is a whole number from 1 to 1000';

export const fileRequestListQuerySchema = z.strictObject({
  clientNumber: clientNumberSchema.optional(),
  status: z.enum(fileRequestStatuses as [string, ...string[]]).optional(),
  limit: z
    .string()
    .regex(/^[0-9]{1,4}$/, listLimitMessage)
    .transform(Number)
    .pipe(z.number().min(1, listLimitMessage).max(1000, listLimitMessage))
    .optional(),
});

export const fileRequestListResponseSchema = z.object({ fileRequests: z.array(fileRequestResponseSchema) });

export const fileRequestParamsSchema = z.strictObject({
  id: z
    .string()
    .regex(/^[1-9][0-9]{0,14}$/, 'a file request id is a positive whole number')
    .transform(Number),
});

export const recipientCandidatesQuerySchema = z.strictObject({ clientNumber: clientNumberSchema });

const recipientCandidateSchema = z
  .object({
    contactId: z.number().int(),
    name: z.string().nullable().describe("the contact's name as the registry has it (first name, infix, last name); null without one"),
    answer: z
      .enum(['may-answer', 'needs-answering-role', 'cannot'])
      .describe('may answer a request now; may answer once given "Contact - Entity Staff" (send grantAnswerRole); or cannot receive one'),
    reason: z
      .enum(['view-only', 'not-linked', 'no-email', 'sync-error', 'not-in-caseware'])
      .nullable()
      .describe(
        'why not now: view-only (needs-answering-role); not-linked, no-email (no CaseWare login: no email address), sync-error (CaseWare Cloud refused it, e.g. a shared email), not-in-caseware (its sync has not finished) (cannot)',
      ),
    sentence: z.string().describe('the answer in a few plain words, e.g. "no CaseWare login (no email address)"'),
  })
  .meta({ id: 'FileRequestRecipientCandidate' });

export const recipientCandidatesResponseSchema = z
  .object({
    clientNumber: z.string(),
    clientRefusal: z.string().nullable().describe('why no request can go to this client at all (it is not in CaseWare Cloud); null when one can'),
    contacts: z.array(recipientCandidateSchema).describe("the client's contacts (not deleted ones), by id"),
  })
  .meta({ id: 'FileRequestRecipientCandidates' });
