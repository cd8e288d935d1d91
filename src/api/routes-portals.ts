import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import type { Db } from '../db';
import { RegistryError } from '../registry/errors';
import { portalColumnValue, type Portal } from '../sync/portal-names';
import { approveCredentialsMails } from '../sync/mail-guard';
import { holdPortal, releasePortal } from '../sync/portal-holds';
import { callerOf, type ApiCaller } from './auth';
import { errorResponses, ForbiddenError } from './errors';
import type { ZodApp } from './zod-app';
import {
  mailApprovalResponseSchema,
  portalHeldResponseSchema,
  portalHoldRequestSchema,
  portalParamsSchema,
  portalReleasedResponseSchema,
} from './portal-schemas';

// Operations on a portal as a whole (issue 17): hold it, release it, approve the credentials mails
// the guard holds. The operator's; docs/portal-rules.md, "Holding a portal" and "Credentials-mail guard".

const portalLabels: Record<Portal, string> = { caseware: 'CaseWare Cloud', clientOnline: 'Client Online' };
const logins = (count: number) => (count === 1 ? '1 new login' : `${count} new logins`);

/** Four eyes, worded as for an offboarding (src/api/routes-offboardings.ts). */
function fourEyesRefusal(portal: Portal, caller: ApiCaller): string {
  const asker = caller.builtIn ? `the built-in token "${caller.name}" (API_TOKEN)` : `token "${caller.name}"`;
  return (
    `the credentials mails held at ${portalLabels[portal]} were approved first by ${asker}; another token with the operator role must approve them too (four eyes). ` +
    'A second person approves them with a token of their own; make one with `portal-sync tokens create --name <name> --role operator`'
  );
}

/** PUT and DELETE /sync/portals/:portal/hold. */
function registerPortalHold(app: ZodApp, db: Db): void {
  app.put(
    '/sync/portals/:portal/hold',
    {
      schema: {
        tags: ['sync'],
        summary: 'Hold a portal: nothing is written to it until it is released; changes keep accumulating, nothing is lost',
        description:
          'Every sync of the portal notes its client and writes nothing; the client stays pending there. CaseWare Cloud file ' +
          'requests wait too; reading (a reconcile dry run) goes on. Holding a portal that is held already changes nothing and ' +
          'keeps who held it, when and why. A sync that was under way when the hold was set finishes what it was writing.',
        params: portalParamsSchema,
        // No body at all (or null) holds it without a note.
        body: portalHoldRequestSchema.nullish(),
        response: { 200: portalHeldResponseSchema, ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const { portal } = request.params;
      const note = request.body?.note || null;
      const { hold, alreadyHeld } = await holdPortal(db, portalColumnValue[portal], { heldBy: callerOf(request).name, note });
      if (!alreadyHeld) request.log.info({ portal }, 'portal held: nothing is written to it until it is released');
      return { portal, hold, alreadyHeld };
    },
  );

  app.delete(
    '/sync/portals/:portal/hold',
    {
      schema: {
        tags: ['sync'],
        summary: 'Release a held portal: every client whose changes waited syncs now, once',
        description: 'Releasing a portal that is not held changes nothing.',
        params: portalParamsSchema,
        response: { 200: portalReleasedResponseSchema, ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const { portal } = request.params;
      const { released, clients } = await releasePortal(db, portalColumnValue[portal]);
      if (released) request.log.info({ portal, clients }, 'portal released: the clients whose changes waited sync now');
      return { portal, released, clients };
    },
  );
}

/** POST /sync/portals/:portal/approve-mails: one of the two approvals the credentials-mail guard needs. */
function registerMailApproval(app: ZodApp, db: Db): void {
  app.post(
    '/sync/portals/:portal/approve-mails',
    {
      schema: {
        tags: ['sync'],
        summary: 'Approve the new logins the credentials-mail guard holds: two different operator tokens release them (four eyes)',
        description:
          'The first call records an approval covering the creations held at that moment and answers 202: another operator token must ' +
          'approve too. The second, by another token, lets exactly those creations through and answers 200; each client concerned ' +
          'syncs and creates its logins, each mailed once. The token that approved first gets 403; nothing held gets 409.',
        params: portalParamsSchema,
        response: { 200: mailApprovalResponseSchema, 202: mailApprovalResponseSchema, ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const { portal } = request.params;
      const caller = callerOf(request);
      const label = portalLabels[portal];
      const result = await approveCredentialsMails(db, portalColumnValue[portal], caller.name);
      switch (result.outcome) {
        case 'nothing-held':
          throw new RegistryError('conflict', `no new login of ${label} waits for approval`);
        case 'same-token':
          throw new ForbiddenError(fourEyesRefusal(portal, caller));
        case 'first-approval':
          request.log.info({ portal, covers: result.approval.covers }, 'held credentials mails approved once; a second token must approve too');
          return reply.code(202).send({
            portal,
            status: 'awaiting-second-approval' as const,
            message:
              `approved by "${caller.name}": ${logins(result.approval.covers)} of ${label} held for approval; another token with the operator role must approve them too (four eyes)`,
            firstApprover: caller.name,
            secondApprover: null,
            released: 0,
            clients: 0,
            stillHeld: result.stillHeld,
          });
        case 'released':
          request.log.info({ portal, released: result.released, clients: result.clients }, 'held credentials mails released by a second token');
          return reply.code(200).send({
            portal,
            status: 'released' as const,
            message:
              `approved by "${result.firstApprover}" and "${result.secondApprover}": ${logins(result.released)} of ${label} created now, ` +
              `each mailed once` + (result.stillHeld > 0 ? `; ${logins(result.stillHeld)} held since the first approval wait for the next two` : ''),
            firstApprover: result.firstApprover,
            secondApprover: result.secondApprover,
            released: result.released,
            clients: result.clients,
            stillHeld: result.stillHeld,
          });
      }
    },
  );
}

export const portalRoutes: FastifyPluginCallbackZod<{ db: Db }> = (app, { db }, done) => {
  registerPortalHold(app, db);
  registerMailApproval(app, db);
  done();
};
