import { z } from 'zod';
import { storableText } from '../registry/schemas';
import type { Portal } from '../sync/portal-names';
import type { CredentialsMailStatus } from '../sync/mail-guard';
import type { PortalHold } from '../sync/portal-holds';
import { portalSchema } from './request-schemas';
import { portalHealthSchema } from './responses';

// The shapes of the portal-wide operations (issue 17): holding a portal and releasing it, the
// credentials-mail guard and its approval, and the portals' status that GET /sync/health shows.

export const portalParamsSchema = z.object({
  portal: z.enum(['caseware', 'clientOnline'], { error: 'the portal is caseware (CaseWare Cloud) or clientOnline (Client Online)' }),
});

export const portalHoldRequestSchema = z
  .strictObject({
    note: storableText().trim().max(500).optional().describe('why, for the other operators: "maintenance window", "go-live: preview first"'),
  })
  .meta({ id: 'PortalHoldRequest' });

export const portalHoldSchema = z
  .object({
    heldBy: z.string().describe('the name of the token that set the hold (`api` for the built-in token)'),
    heldAt: z.date(),
    note: z.string().nullable(),
    heldClients: z.number().int().describe('clients whose changes wait for the release; each syncs once when it comes'),
  })
  .meta({ id: 'PortalHold' });

export const portalHeldResponseSchema = z
  .object({
    portal: portalSchema,
    hold: portalHoldSchema,
    alreadyHeld: z.boolean().describe('true: the portal was held already; its hold (who, when, why) is kept as it was'),
  })
  .meta({ id: 'PortalHeld' });

export const portalReleasedResponseSchema = z
  .object({
    portal: portalSchema,
    released: z.boolean().describe('false: the portal was not held; nothing changed'),
    clients: z.number().int().describe('clients whose sync had met the hold: each syncs now, once, with every change made meanwhile'),
  })
  .meta({ id: 'PortalReleased' });

export const heldCreationSchema = z
  .object({
    id: z.number().int().describe('the held creation; approvals cover creations by id'),
    clientNumber: z.string(),
    recordType: z.enum(['client', 'contact']).describe('whose login: a contact, or a person client (Client Online)'),
    recordId: z.number().int(),
    heldAt: z.date(),
    reason: z
      .enum(['threshold', 'recreation'])
      .describe(
        'threshold: more new logins were asked for in the window than the guard lets through; recreation: a reconcile repair would make again a login the portal no longer holds (its client or user deleted there by hand), and mail its person new credentials',
      ),
  })
  .meta({ id: 'HeldCreation' });

const pendingMailApprovalSchema = z
  .object({
    approvedBy: z.string().describe('the token that approved first, by name; another operator token must approve too (four eyes)'),
    approvedAt: z.date(),
    covers: z.number().int().describe('the held creations it covers: those held when it was given'),
  })
  .meta({ id: 'PendingMailApproval' });

export const credentialsMailStatusSchema = z
  .object({
    threshold: z.number().int().describe('more new logins than this within the window are held for approval; 0: the guard is off'),
    windowMinutes: z.number(),
    sentInWindow: z.number().int().describe('creations let through in the window without an approval'),
    held: z.number().int().describe('creations held for approval'),
    heldCreations: z.array(heldCreationSchema).describe('the held creations, oldest first, at most 100 (`held` counts them all)'),
    heldClients: z.number().int().describe('clients with a held creation'),
    approval: pendingMailApprovalSchema.nullable().describe('the first of the two approvals the held creations need; null when none was given'),
  })
  .meta({ id: 'CredentialsMailGuard' });

export const portalStatusSchema = portalHealthSchema
  .extend({
    hold: portalHoldSchema.nullable().describe('set while an operator holds the portal (PUT /sync/portals/:portal/hold): nothing is written to it'),
    credentialsMails: credentialsMailStatusSchema.describe('the credentials-mail guard: new logins held for approval, with ids and counts'),
  })
  .meta({ id: 'PortalStatus' });

export const syncHealthResponseSchema = z
  .object({ caseware: portalStatusSchema, clientOnline: portalStatusSchema })
  .meta({ id: 'SyncHealth' });

export const mailApprovalResponseSchema = z
  .object({
    portal: portalSchema,
    status: z
      .enum(['awaiting-second-approval', 'released'])
      .describe('awaiting-second-approval: this was the first approval, another operator token must approve too; released: the held creations are let through'),
    message: z.string(),
    firstApprover: z.string(),
    secondApprover: z.string().nullable(),
    released: z.number().int().describe('creations let through by this approval; each is created (and mailed) once by its client\'s next sync'),
    clients: z.number().int().describe('clients that sync now to create them'),
    stillHeld: z.number().int().describe('creations still held: held after the first approval, they wait for the next two'),
  })
  .meta({ id: 'CredentialsMailApproval' });

export type PortalParams = z.output<typeof portalParamsSchema>;

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _holdShape: Same<z.output<typeof portalHoldSchema>, PortalHold> = true;
const _portalShape: Same<PortalParams['portal'], Portal> = true;
const _guardShape: Same<z.output<typeof credentialsMailStatusSchema>, CredentialsMailStatus> = true;
