import { z } from 'zod';
import { storableText } from '../registry/schemas';
import type { Portal } from '../registry/sync-status';
import type { PortalHold } from '../sync/portal-holds';
import { portalSchema } from './request-schemas';

// The shapes of the portal-wide operations (issue 17): holding a portal and releasing it.

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

export type PortalParams = z.output<typeof portalParamsSchema>;

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _holdShape: Same<z.output<typeof portalHoldSchema>, PortalHold> = true;
const _portalShape: Same<PortalParams['portal'], Portal> = true;
