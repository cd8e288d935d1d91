import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import type { Db } from '../db';
import { portalColumnValue } from '../registry/sync-status';
import { holdPortal, releasePortal } from '../sync/portal-holds';
import { callerOf } from './auth';
import { errorResponses } from './errors';
import { portalHeldResponseSchema, portalHoldRequestSchema, portalParamsSchema, portalReleasedResponseSchema } from './portal-schemas';

// Operations on a portal as a whole (issue 17): hold it, release it. The operator's; README,
// "Holding a portal".

export const portalRoutes: FastifyPluginCallbackZod<{ db: Db }> = (app, { db }, done) => {
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

  done();
};
