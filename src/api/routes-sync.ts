import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../db';
import { clientSyncStatus, listSyncErrors } from '../registry/sync-status';
import { portalHealth, type PortalHealth } from '../sync/health';
import { requestResync } from '../sync/resync';
import { errorResponses } from './errors';
import { clientParamsSchema, syncErrorsQuerySchema } from './request-schemas';
import { clientSyncStatusResponseSchema, syncErrorListResponseSchema } from './responses';

const portalHealthSchema = z
  .object({
    healthy: z.boolean().describe('false while a failure no record is to blame for (credentials, permissions, unreadable answers) stops every sync'),
    since: z.date().nullable().describe('since when the portal has been in this state; null when it never failed'),
    lastFailure: z.object({ code: z.string(), message: z.string() }).nullable().describe('the newest such failure, kept after the portal healed'),
    failures: z.number().int().describe('failures since the portal became unhealthy; 0 when healthy'),
  })
  .meta({ id: 'PortalHealth' });

const syncHealthResponseSchema = z
  .object({ caseware: portalHealthSchema, clientOnline: portalHealthSchema })
  .meta({ id: 'SyncHealth' });

const resyncResponseSchema = z
  .object({ clients: z.number().int().describe('how many clients will be synced again') })
  .meta({ id: 'Resync' });

// The response schema must describe exactly what the health store answers.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _healthShape: Same<z.output<typeof portalHealthSchema>, PortalHealth> = true;

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

  app.get(
    '/sync/health',
    {
      schema: {
        tags: ['sync'],
        summary: 'Whether each portal can be used: credentials, permissions and readable answers',
        response: { 200: syncHealthResponseSchema, ...errorResponses(401) },
      },
    },
    async () => {
      const health = await portalHealth(db);
      return { caseware: health.caseware, clientOnline: health.client_online };
    },
  );

  app.post(
    '/sync/clients/:number/resync',
    {
      schema: {
        tags: ['sync'],
        summary: "Sends the client's records to its portals again, every field, whatever the ledger says they hold",
        params: clientParamsSchema,
        response: { 202: resyncResponseSchema, ...errorResponses(400, 401, 404) },
      },
    },
    async (request, reply) => reply.code(202).send({ clients: await requestResync(db, request.params.number) }),
  );

  app.post(
    '/sync/resync',
    {
      schema: {
        tags: ['sync'],
        summary: 'Sends every client to its portals again, every field, whatever the ledger says they hold',
        response: { 202: resyncResponseSchema, ...errorResponses(401) },
      },
    },
    async (_request, reply) => reply.code(202).send({ clients: await requestResync(db) }),
  );

  done();
};
