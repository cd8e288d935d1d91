import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../db';
import { createContact, deleteContact, getContact, setContactLinks, updateContact } from '../registry/contacts';
import { contactCreateSchema, contactPatchSchema } from '../registry/schemas';
import { errorResponses } from './errors';
import { clientParamsSchema, contactParamsSchema, linksUpdateSchema } from './request-schemas';
import { contactResponseSchema } from './responses';

export const contactRoutes: FastifyPluginCallbackZod<{ db: Db }> = (app, { db }, done) => {
  app.post(
    '/clients/:number/contacts',
    {
      schema: {
        tags: ['contacts'],
        summary: 'Register a contact at a company client',
        description:
          'Email is optional and may be shared with other contacts: the registry accepts it, the sync reports it as a portal conflict.',
        params: clientParamsSchema,
        body: contactCreateSchema,
        response: { 201: contactResponseSchema, ...errorResponses(400, 401, 404, 409, 422) },
      },
    },
    async (request, reply) => reply.code(201).send(await createContact(db, request.params.number, request.body)),
  );

  app.get(
    '/contacts/:id',
    {
      schema: {
        tags: ['contacts'],
        summary: 'A contact',
        params: contactParamsSchema,
        response: { 200: contactResponseSchema, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => getContact(db, request.params.id),
  );

  app.patch(
    '/contacts/:id',
    {
      schema: {
        tags: ['contacts'],
        summary: "Change a contact's data",
        description: "A follower's private data is kept equal to its master's: changing it is refused (409) naming the master.",
        params: contactParamsSchema,
        body: contactPatchSchema,
        response: { 200: contactResponseSchema, ...errorResponses(400, 401, 404, 409) },
      },
    },
    async (request) => updateContact(db, request.params.id, request.body),
  );

  app.delete(
    '/contacts/:id',
    {
      schema: {
        tags: ['contacts'],
        summary: 'Delete a contact; the sync then removes its portal access',
        params: contactParamsSchema,
        response: { 204: z.null().describe('deleted'), ...errorResponses(400, 401, 404, 409) },
      },
    },
    async (request, reply) => {
      await deleteContact(db, request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.put(
    '/contacts/:id/links',
    {
      schema: {
        tags: ['contacts'],
        summary: "Switch the contact's portal links on or off",
        params: contactParamsSchema,
        body: linksUpdateSchema,
        response: { 200: contactResponseSchema, ...errorResponses(400, 401, 404, 409) },
      },
    },
    async (request) => setContactLinks(db, request.params.id, request.body),
  );

  done();
};
