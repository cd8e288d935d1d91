import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../db';
import { clientSyncStatus } from '../registry/sync-status';
import { portalHealth } from '../sync/health';
import { credentialsMailStatus, type MailGuardSettings } from '../sync/mail-guard';
import { portalHolds } from '../sync/portal-holds';
import { listSyncErrorRecords } from '../sync/ledger';
import { portalColumnValue, portals, type Portal } from '../sync/portal-names';
import { requestResync } from '../sync/resync';
import { errorResponses } from './errors';
import { syncHealthResponseSchema } from './portal-schemas';
import { clientParamsSchema, syncErrorsQuerySchema } from './request-schemas';
import { clientSyncStatusResponseSchema, syncErrorListResponseSchema, type unhealthyPortalSchema } from './responses';

const resyncResponseSchema = z
  .object({ clients: z.number().int().describe('how many clients will be synced again') })
  .meta({ id: 'Resync' });

type SyncErrorsQuery = z.output<typeof syncErrorsQuerySchema>;
type SyncErrorList = z.output<typeof syncErrorListResponseSchema>;

/** The portals that cannot be used at all, once each (of the one asked for, if any). */
function unhealthyPortals(health: Awaited<ReturnType<typeof portalHealth>>, only?: Portal): z.output<typeof unhealthyPortalSchema>[] {
  return portals
    .filter((portal) => (only === undefined || portal === only) && !health[portalColumnValue[portal]].healthy)
    .map((portal) => {
      const { since, lastFailure, failures } = health[portalColumnValue[portal]];
      return { portal, since, lastFailure, failures };
    });
}

/** The error list and the portals' health, read in one snapshot so that the total matches the page. */
async function syncErrorList(db: Db, query: SyncErrorsQuery): Promise<SyncErrorList> {
  const { portal, ...filter } = query;
  return db.transaction(
    async (trx) => {
      const page = await listSyncErrorRecords(trx, { ...filter, ...(portal === undefined ? {} : { portal: portalColumnValue[portal] }) });
      const health = await portalHealth(trx);
      return {
        errors: page.errors,
        total: page.total,
        portals: unhealthyPortals(health, portal),
      };
    },
    { isolationLevel: 'repeatable read', readOnly: true },
  );
}

export const syncRoutes: FastifyPluginCallbackZod<{ db: Db; credentialsMailGuard?: MailGuardSettings }> = (app, { db, credentialsMailGuard }, done) => {
  app.get(
    '/sync/errors',
    {
      schema: {
        tags: ['sync'],
        summary: 'Sync errors, most recently seen first, and the portals that cannot be used at all',
        description:
          'Each error names the record a portal refused, why, and what to do; it resolves itself when a later sync finds ' +
          'the cause fixed and stays listed with includeResolved=true. A portal refusing the service itself (credentials, ' +
          'permissions) is listed once in `portals`, not as an error of every client.',
        querystring: syncErrorsQuerySchema,
        response: { 200: syncErrorListResponseSchema, ...errorResponses(400, 401) },
      },
    },
    async (request) => syncErrorList(db, request.query),
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
        summary: 'Whether each portal can be used (credentials, permissions, readable answers), whether an operator holds it, and the credentials mails held for approval',
        response: { 200: syncHealthResponseSchema, ...errorResponses(401) },
      },
    },
    async () => {
      // One snapshot: a hold and the clients it holds are read at the same moment.
      return db.transaction(
        async (trx) => {
          const health = await portalHealth(trx);
          const holds = await portalHolds(trx);
          const caseware = await credentialsMailStatus(trx, 'caseware', credentialsMailGuard);
          const clientOnline = await credentialsMailStatus(trx, 'client_online', credentialsMailGuard);
          return {
            caseware: { ...health.caseware, hold: holds.caseware, credentialsMails: caseware },
            clientOnline: { ...health.client_online, hold: holds.client_online, credentialsMails: clientOnline },
          };
        },
        { isolationLevel: 'repeatable read', readOnly: true },
      );
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
