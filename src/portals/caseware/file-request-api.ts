import { z } from 'zod';

// CaseWare Cloud file requests ("bestandsverzoeken", seed article 003), wire shapes shared by the
// client and the simulator. The public articles describe what staff do in the portal (an entity,
// recipients who may answer, a subject, a description); the API shapes are not public, so every
// shape and path here is [assumed], kept in one place to correct when real documentation arrives.

// [public] Only contacts with the role "Contact - Entity Staff" on the entity may answer a request;
// "Contact - Entity Access" may only view (seed article 003).
export const CW_ANSWERING_ROLE = 'Contact - Entity Staff';

// [assumed] Statuses as the service names them.
export const cwFileRequestStatuses = ['Open', 'Answered', 'Cancelled'] as const;
export type CwFileRequestStatus = (typeof cwFileRequestStatuses)[number];

// [assumed] `POST /file-requests`. ExternalRef is the caller's own key, unique per firm: a second
// create with the same ExternalRef answers 409, so a retry after a lost answer finds the first.
export const cwFileRequestCreateBodySchema = z.strictObject({
  EntityId: z.string().min(1),
  Subject: z.string().min(1),
  Description: z.string(),
  // [assumed] yyyy-MM-dd, or absent.
  DueDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).nullable().optional(),
  Recipients: z.array(z.string().min(1)).min(1),
  ExternalRef: z.string().min(1).max(100),
});
export type CwFileRequestCreateBody = z.infer<typeof cwFileRequestCreateBodySchema>;

// [assumed] `PATCH /file-requests/:guid`: the recipients replaced, or the request cancelled.
export const cwFileRequestPatchBodySchema = z.strictObject({
  Recipients: z.array(z.string().min(1)).min(1).optional(),
  Status: z.literal('Cancelled').optional(),
});
export type CwFileRequestPatchBody = z.infer<typeof cwFileRequestPatchBodySchema>;

// [assumed] What the service answers for a request.
export const cwFileRequestSchema = z.object({
  CWGuid: z.string().min(1),
  EntityId: z.string(),
  ExternalRef: z.string().nullable().default(null),
  Status: z.enum(cwFileRequestStatuses),
  Recipients: z.array(z.string()),
  DueDate: z.string().nullable().default(null),
  // [assumed] Who answered, and the names of the files they uploaded.
  AnsweredBy: z.string().nullable().default(null),
  AnsweredAt: z.string().nullable().default(null),
  Files: z.array(z.object({ Name: z.string() })).default([]),
  // [assumed] How many reminders it has mailed: what tells a reminder whose answer was lost apart
  // from one that never went out. Null when the service does not say.
  Reminders: z.number().int().min(0).nullable().default(null),
});
export type CwFileRequest = z.infer<typeof cwFileRequestSchema>;
