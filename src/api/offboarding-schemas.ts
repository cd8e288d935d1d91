import { z } from 'zod';
import { clientNumberSchema, storableText } from '../registry/schemas';

// The offboarding routes' shapes (issue 8's contract: keep the names).

const portalSchema = z.enum(['caseware', 'clientOnline']);
const contactIdSchema = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/**
 * Planning looks at every company named, so an unbounded list let one request hold the API for
 * seconds (20,000 entries: 5.7 s). A person is a contact at a handful of companies; 100 is far above
 * any real case and keeps a plan quick.
 */
export const maxCompaniesPerOffboarding = 100;
const companiesMessage = `companies names at most ${maxCompaniesPerOffboarding} client numbers`;

const common = {
  reason: storableText().max(2000).optional().describe('free text, kept in the record; never sent to a portal or Temporal'),
  execute: z.boolean().optional().describe('true: carry it out; otherwise a dry run that answers the plan and changes nothing'),
};

export const offboardingRequestSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('revoke-contact-access'),
      contactId: contactIdSchema,
      portals: z.array(portalSchema).min(1).max(2, 'portals names at most the 2 portals, caseware and clientOnline').optional().describe('default: both'),
      ...common,
    }),
    z.strictObject({
      kind: z.literal('person-leaves'),
      clientNumber: clientNumberSchema.describe('the person client'),
      companies: z
        .array(clientNumberSchema)
        .min(1)
        .max(maxCompaniesPerOffboarding, companiesMessage)
        .optional()
        .describe(`default: every company where a follower of the person is a contact; at most ${maxCompaniesPerOffboarding}`),
      ...common,
    }),
    z.strictObject({ kind: z.literal('person-deceased'), clientNumber: clientNumberSchema.describe('the person client'), ...common }),
    z.strictObject({ kind: z.literal('client-leaves'), clientNumber: clientNumberSchema.describe('the company'), ...common }),
  ])
  .meta({ id: 'OffboardingRequest' });

export type OffboardingRequestBody = z.infer<typeof offboardingRequestSchema>;

const effectsSchema = z.object({ caseware: z.array(z.string()), clientOnline: z.array(z.string()) });

const removesSchema = z.object({
  contactAccess: z.number().int().describe('CaseWare Cloud contacts that lose access to a client'),
  logins: z.number().int().describe('Client Online logins deleted outright'),
  accessEnded: z
    .object({
      caseware: z.number().int().describe('contacts losing a client entity'),
      clientOnline: z.number().int().describe('(login, client) pairs that end: a login losing a client, deleted or not'),
    })
    .describe('every access that ends, per portal; the approval threshold counts their sum'),
});

const plannedStepSchema = z.object({
  step: z.number().int(),
  action: z.enum(['contact-links-off', 'client-former', 'end-master-link']),
  clientNumber: z.string(),
  contactId: z.number().int().optional(),
  portals: z.array(portalSchema).optional(),
  summary: z.string(),
  effects: effectsSchema,
  removes: removesSchema,
  awaitClients: z.array(z.string()),
});

export const offboardingPlanSchema = z
  .object({
    request: z.looseObject({ kind: z.string() }),
    steps: z.array(plannedStepSchema),
    clientNumbers: z.array(z.string()),
    contactIds: z.array(z.number().int()),
    removes: removesSchema,
  })
  .meta({ id: 'OffboardingPlan' });

export const offboardingStatusSchema = z.enum(['running', 'awaiting-approval', 'completed', 'failed', 'cancelled']);

/** A stored step: the planned step's fields and its progress (one shape for a step, planned or done). */
const stepRecordSchema = plannedStepSchema.extend({
  status: z.enum(['pending', 'applying', 'waiting-for-portals', 'done', 'not-run']),
  changed: z.record(z.string(), z.unknown()).nullable().describe('what the registry change did; {} when it found nothing to change'),
  refusal: z
    .string()
    .nullable()
    .describe('what a portal refused of the change (its sync errors, ids only) while the step waits for a later sync to get it through; null otherwise'),
  startedAt: z.date().nullable(),
  appliedAt: z.date().nullable().describe('when the registry change was made'),
  completedAt: z.date().nullable().describe('when every affected portal had applied it'),
  recordType: z.enum(['client', 'contact']).meta({ deprecated: true }).describe('deprecated, kept for one release: the action with contactId or clientNumber says the same'),
  recordId: z.number().int().meta({ deprecated: true }).describe('deprecated, kept for one release: contactId for a contact step; the client\'s registry id for a client step'),
});

const offboardingSummaryFields = {
  id: z.number().int(),
  kind: z.string(),
  request: z.looseObject({ kind: z.string() }),
  reason: z.string().nullable(),
  requestedBy: z.string(),
  status: offboardingStatusSchema,
  workflowId: z.string(),
  approvalRequired: z.boolean(),
  approvalReason: z
    .string()
    .nullable()
    .describe("why it waits for approval: its own accesses ended, or those with the same token's recent offboardings that needed none (the rolling budget)"),
  approvedBy: z.string().nullable(),
  approvedAt: z.date().nullable(),
  cancelledBy: z.string().nullable(),
  failure: z.string().nullable(),
  createdAt: z.date(),
  updatedAt: z.date(),
  finishedAt: z.date().nullable(),
};

export const offboardingResponseSchema = z
  .object({ ...offboardingSummaryFields, plan: offboardingPlanSchema, steps: z.array(stepRecordSchema) })
  .meta({ id: 'Offboarding' });

export const offboardingListResponseSchema = z.object({
  offboardings: z.array(z.object({ ...offboardingSummaryFields, plan: offboardingPlanSchema })),
});

const approvalBudgetSchema = z
  .object({
    threshold: z.number().int().describe('OFFBOARDING_APPROVAL_THRESHOLD: a plan that ends more accesses than this, alone or with the earlier ones below, waits for approval'),
    accessesEnded: z.number().int().describe("this plan's accesses ended, both portals together (plan.removes.accessEnded)"),
    windowHours: z.number().describe('OFFBOARDING_APPROVAL_WINDOW_HOURS, the rolling budget\'s window; 0: each plan is measured on its own'),
    earlierAccessesEnded: z.number().int().describe("the accesses ended by the asking token's offboardings that needed no approval within the window"),
    earlierOffboardings: z.array(z.number().int()).describe('those offboardings, by id'),
  })
  .describe('what the approval threshold weighs for this plan, asked for by this token now');

const underWaySchema = z
  .object({ id: z.number().int(), status: z.enum(['awaiting-approval', 'running']) })
  .describe('an unfinished offboarding that holds a record of this request (GET /offboardings/{id})');

export const dryRunResponseSchema = z.object({
  dryRun: z.literal(true),
  plan: offboardingPlanSchema,
  approvalRequired: z
    .boolean()
    .optional()
    .describe(
      'whether the plan, carried out now by the token that asked, would wait for a second token\'s approval (four eyes); ' +
        'absent when this API runs without Temporal and cannot carry out offboardings',
    ),
  approvalReason: offboardingSummaryFields.approvalReason
    .optional()
    .describe('why it would wait, as the offboarding\'s approvalReason would say; null when it would not; absent as approvalRequired'),
  approvalBudget: approvalBudgetSchema.optional().describe('what the approval threshold weighs; absent as approvalRequired'),
  alreadyUnderWay: z
    .array(underWaySchema)
    .describe(
      'unfinished offboardings (waiting for approval or running) that hold the record asked about or one the plan would hold, oldest first; ' +
        'carrying this plan out is refused (409) until they finish. Empty when there are none',
    ),
});

export const startedResponseSchema = z.object({
  id: z.number().int(),
  workflowId: z.string(),
  status: offboardingStatusSchema,
  approvalReason: offboardingSummaryFields.approvalReason,
  plan: offboardingPlanSchema,
});

export const offboardingParamsSchema = z.object({
  id: z
    .string()
    .regex(/^[1-9][0-9]{0,14}$/, 'an offboarding id is a positive whole number')
    .transform(Number),
});

export const offboardingListQuerySchema = z.object({ status: offboardingStatusSchema.optional() });
