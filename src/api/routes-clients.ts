import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import type { Db } from '../db';
import { clientNumbersOf, createClient, getClient, setClientLinks, updateClient } from '../registry/clients';
import { listContacts } from '../registry/contacts';
import { clientCreateSchema, clientPatchSchema } from '../registry/schemas';
import { errorResponses } from './errors';
import { clientParamsSchema, linksUpdateSchema } from './request-schemas';
import { clientResponseSchema, clientWithContactsResponseSchema } from './responses';

export const clientRoutes: FastifyPluginCallbackZod<{ db: Db }> = (app, { db }, done) => {
  app.post(
    '/clients',
    {
      schema: {
        tags: ['clients'],
        summary: 'Register a client',
        body: clientCreateSchema,
        response: { 201: clientResponseSchema, ...errorResponses(400, 401, 409) },
      },
    },
    async (request, reply) => reply.code(201).send(await createClient(db, request.body)),
  );

  app.get(
    '/clients/:number',
    {
      schema: {
        tags: ['clients'],
        summary: 'A client with its current contacts',
        params: clientParamsSchema,
        response: { 200: clientWithContactsResponseSchema, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const client = await getClient(db, request.params.number);
      const contacts = await listContacts(db, client.clientNumber);
      const masters = await clientNumbersOf(db, contacts.flatMap((c) => (c.masterClientId === null ? [] : [c.masterClientId])));
      return { ...client, contacts: contacts.map((c) => ({ ...c, masterClientNumber: c.masterClientId === null ? null : (masters.get(c.masterClientId) ?? null) })) };
    },
  );

  app.patch(
    '/clients/:number',
    {
      schema: {
        tags: ['clients'],
        summary: "Change a client's data (not its kind or number)",
        params: clientParamsSchema,
        body: clientPatchSchema,
        response: { 200: clientResponseSchema, ...errorResponses(400, 401, 404, 409, 422) },
      },
    },
    async (request) => updateClient(db, request.params.number, request.body),
  );

  app.put(
    '/clients/:number/links',
    {
      schema: {
        tags: ['clients'],
        summary: "Switch the client's portal links on or off",
        params: clientParamsSchema,
        body: linksUpdateSchema,
        response: { 200: clientResponseSchema, ...errorResponses(400, 401, 404, 409) },
      },
    },
    async (request) => setClientLinks(db, request.params.number, request.body),
  );

  done();
};
