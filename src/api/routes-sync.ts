import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import type { Db } from '../db';
import { clientSyncStatus, listSyncErrors } from '../registry/sync-status';
import { errorResponses } from './errors';
import { clientParamsSchema, syncErrorsQuerySchema } from './request-schemas';
import { clientSyncStatusResponseSchema, syncErrorListResponseSchema } from './responses';

export const syncRoutes: FastifyPluginCallbackZod<{ db: Db }> = (app, { db }, done) => {
  app.get(
    '/sync/errors',
    {
      schema: {
        tags: ['sync'],
        summary: 'Sync errors, most recently seen first',
        querystring: syncErrorsQuerySchema,
        response: { 200: syncErrorListResponseSchema, ...errorResponses(400, 401) },
      },
    },
    async (request) => ({ errors: await listSyncErrors(db, request.query) }),
  );

  app.get(
    '/sync/clients/:number',
    {
      schema: {
        tags: ['sync'],
        summary: "How far each portal has caught up with a client's changes",
        params: clientParamsSchema,
        response: { 200: clientSyncStatusResponseSchema, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => clientSyncStatus(db, request.params.number),
  );

  done();
};
