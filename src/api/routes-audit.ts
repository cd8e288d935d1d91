import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import type { Db } from '../db';
import { listAuditEvents } from '../registry/audit-events';
import { auditListSchema, auditQuerySchema } from './audit-schemas';
import { errorBody, errorResponses } from './errors';

// GET /audit (issue 18): what each token did, as src/api/audit.ts recorded it. For operators and
// admins (routeAccess): a viewer reads the registry, not who changed it.

export const auditRoutes: FastifyPluginCallbackZod<{ db: Db }> = (app, { db }, done) => {
  app.get(
    '/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'What each token did: every change made through the API, and every refusal for want of a role; newest first',
        description:
          'One event per request that changed something (or was refused with 403): which token, the route, the answer, the ' +
          'records it named and the names of the fields it sent; never a value. Kept without expiry. Page with `before` = `next`.',
        querystring: auditQuerySchema,
        response: { 200: auditListSchema, ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const { since, until } = request.query;
      if (since && until && since >= until) {
        return reply.code(400).send(errorBody('invalid-request', 'invalid request: query.since must be before query.until', [{ path: 'query.since', message: 'must be before until' }]));
      }
      const { events, next } = await listAuditEvents(db, request.query);
      return { events: events.map(({ tokenName, ...event }) => ({ token: tokenName, ...event })), next };
    },
  );

  done();
};
