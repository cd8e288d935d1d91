import { z } from 'zod';
import { storableText } from '../registry/schemas';

// The reconcile routes' shapes (issue 9).

export const reconcileRequestSchema = z
  .strictObject({
    wait: z.boolean().optional().describe('true: answer when the run has finished, with its report'),
    dryRun: z.boolean().optional().describe('true: compare and report, repair nothing'),
  })
  .meta({ id: 'ReconcileRequest' });

const portalSchema = z.enum(['caseware', 'clientOnline']);

const portalReportSchema = z.object({
  portal: portalSchema,
  checked: z.number().int().describe('clients the portal holds or should hold'),
  inSync: z.number().int(),
  drifted: z.number().int().describe('clients where the portal held something else'),
  knownErrors: z.number().int().describe('clients left out: a record has an open sync error'),
  repaired: z.number().int(),
  noChange: z.number().int().describe('drift a change in flight had already fixed when the client synced'),
  failed: z.number().int(),
  unfinished: z.number().int().describe('repairs not settled when the run stopped waiting; they finish later'),
  orphans: z.number().int().describe('portal objects no registry record accounts for; reported, never deleted'),
  reads: z.number().int().describe('portal requests of the bulk read'),
  writes: z.number().int().describe('portal writes of the repairs'),
  outlook: z
    .object({
      adopt: z.number().int().describe('objects the portal holds already that the next syncs would take over (never mailed)'),
      create: z.number().int().describe('objects the next syncs would create'),
      update: z.number().int().describe('objects the next syncs would bring to the registry\'s values'),
      keep: z.number().int().describe("access the registry does not grant that the next syncs would keep, not remove"),
      conflicts: z.number().int().describe('ambiguities that stop a client\'s sync (nothing of it is touched)'),
      credentialsMails: z.number().int().describe('credentials mails the next syncs would cause (new logins)'),
    })
    .optional()
    .describe('what the next syncs would do here, as the run found the portal: the go-live preview (absent in reports of runs from before it)'),
  done: z
    .object({ adopt: z.number().int(), create: z.number().int(), update: z.number().int(), credentialsMails: z.number().int() })
    .optional()
    .describe("what the repairs' syncs did, in the outlook's words (all 0 in a dry run; absent in reports of runs from before it)"),
});

export const reconcileReportSchema = z
  .object({
    runId: z.number().int(),
    dryRun: z.boolean(),
    status: z.enum(['completed', 'failed']),
    durationMs: z.number().int(),
    portals: z.array(portalReportSchema),
    failure: z.string().optional(),
  })
  .meta({ id: 'ReconcileReport' });

export const reconcileRunSchema = z
  .object({
    id: z.number().int(),
    workflowId: z.string(),
    trigger: z.enum(['schedule', 'api']),
    requestedBy: z.string().nullable().describe('the name of the token that asked for the run (`api`: the built-in token); null for the hourly schedule\'s'),
    dryRun: z.boolean(),
    status: z.enum(['running', 'completed', 'failed']),
    startedAt: z.date(),
    finishedAt: z.date().nullable(),
    report: reconcileReportSchema.nullable(),
  })
  .meta({ id: 'ReconcileRun' });

const driftSchema = z.object({
  recordType: z.enum(['client', 'contact']),
  recordId: z.number().int(),
  issue: z.enum(['missing', 'fields', 'inactive', 'active', 'share-missing', 'share-extra', 'group-missing', 'extra']),
  fields: z.array(z.string()).optional(),
});

export const reconcileRunDetailsSchema = reconcileRunSchema
  .extend({
    repairs: z.array(
      z.object({
        portal: portalSchema,
        clientNumber: z.string(),
        drift: z.array(driftSchema),
        status: z.enum(['pending', 'repaired', 'no-change', 'failed', 'dry-run']),
        writes: z.number().int(),
        message: z.string().nullable(),
        foundAt: z.date(),
        settledAt: z.date().nullable(),
      }),
    ),
    orphans: z.array(z.object({ portal: portalSchema, kind: z.string(), remoteId: z.string(), reason: z.string() })),
    outlook: z
      .array(
        z.object({
          portal: portalSchema,
          clientNumber: z.string(),
          action: z.enum(['adopt', 'create', 'update', 'keep', 'conflict']),
          object: z.enum(['entity', 'contact-user', 'client', 'login', 'user']),
          recordType: z.enum(['client', 'contact']),
          recordId: z.number().int(),
          credentialsMails: z.number().int(),
          detail: z.string().nullable().describe("a conflict's code, or a kept user's Client Online ref"),
        }),
      )
      .describe('the records behind the outlook counts (at most 5 000)'),
  })
  .meta({ id: 'ReconcileRunDetails' });

// Digits only, with messages that say so: a coerced number would answer "received NaN" for
// text and take "1e3" or " 7" as ids.
export const reconcileRunParamsSchema = z.object({
  id: z
    .string()
    .regex(/^[1-9][0-9]{0,14}$/, 'a reconcile run id is a positive whole number')
    .transform(Number),
});
const runLimitMessage = 'the limit is a whole number from 1 to 500';
export const reconcileRunListQuerySchema = z.strictObject({
  limit: z
    .string()
    .regex(/^[0-9]{1,4}$/, runLimitMessage)
    .transform(Number)
    .pipe(z.number().min(1, runLimitMessage).max(500, runLimitMessage))
    .optional(),
});

export const reconcileScheduleSchema = z
  .object({
    scheduleId: z.string(),
    paused: z.boolean(),
    note: z.string().nullable(),
    nextRuns: z.array(z.date()),
    recentRuns: z.array(z.object({ workflowId: z.string(), scheduledAt: z.date() })),
    lastChangedBy: z
      .object({ token: z.string(), at: z.date() })
      .nullable()
      .describe('the token that last paused or resumed it through this API, and when (from the audit); null when none has'),
  })
  .meta({ id: 'ReconcileSchedule' });

/** The longest schedule note Temporal takes (its frontend refuses a longer one: "Schedule notes exceeds limit"). */
const scheduleNoteMaxBytes = 1000;

export const reconcileSchedulePauseSchema = z.strictObject({
  paused: z.boolean().describe('true pauses the hourly reconcile, false resumes it'),
  note: storableText()
    .max(500)
    // Temporal refuses a schedule note over 1000 bytes; 500 characters outside the BMP are 1000 or more.
    .refine((note) => Buffer.byteLength(note, 'utf8') <= scheduleNoteMaxBytes, `note is at most ${scheduleNoteMaxBytes} bytes in UTF-8 (Temporal's limit for a schedule note)`)
    .optional()
    .describe(`why, shown in the Temporal Web UI: at most 500 characters and ${scheduleNoteMaxBytes} bytes in UTF-8`),
});
