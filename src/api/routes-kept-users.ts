import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../db';
import { appendOutboxEvent } from '../outbox/store';
import { getClient } from '../registry/clients';
import { keptUsers, releaseKeptUsers } from '../sync/login-refs';
import { errorResponses } from './errors';
import { clientParamsSchema } from './request-schemas';

// Users Client Online held under a client before portal-sync first pushed it, that the registry
// does not give access to it (go-live): kept in its pushes until an operator lets them go. Refs
// only: a kept user's name and address stay in the ledger.

const keptUsersResponseSchema = z
  .object({
    clientNumber: z.string(),
    refs: z.array(z.string()).describe("the kept users' Client Online refs"),
  })
  .meta({ id: 'KeptUsers' });

const releasedResponseSchema = z
  .object({
    clientNumber: z.string(),
    released: z.number().int().describe('users no longer kept: the next push leaves them out, and Client Online deletes a login left with no client'),
  })
  .meta({ id: 'KeptUsersReleased' });

export const keptUserRoutes: FastifyPluginCallbackZod<{ db: Db }> = (app, { db }, done) => {
  app.get(
    '/sync/clients/:number/kept-users',
    {
      schema: {
        tags: ['sync'],
        summary: 'Client Online users the client had before portal-sync first pushed it, which the registry does not give access to it: kept, not removed',
        params: clientParamsSchema,
        response: { 200: keptUsersResponseSchema, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const client = await getClient(db, request.params.number);
      return { clientNumber: client.clientNumber, refs: (await keptUsers(db, client.clientNumber)).map((user) => user.ref) };
    },
  );

  app.delete(
    '/sync/clients/:number/kept-users',
    {
      schema: {
        tags: ['sync'],
        summary: "Lets the client's kept Client Online users go: its next push (started now) removes their access to it",
        params: clientParamsSchema,
        response: { 200: releasedResponseSchema, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const client = await getClient(db, request.params.number);
      const released = await db.transaction(async (trx) => {
        const count = await releaseKeptUsers(trx, client.clientNumber);
        if (count > 0) await appendOutboxEvent(trx, { clientNumber: client.clientNumber, kind: 'client.kept-users-released', recordType: 'client', recordId: client.id });
        return count;
      });
      return { clientNumber: client.clientNumber, released };
    },
  );

  done();
};
