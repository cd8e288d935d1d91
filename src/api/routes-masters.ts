import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../db';
import { getClient } from '../registry/clients';
import { getContact } from '../registry/contacts';
import { RegistryError } from '../registry/errors';
import { contactCorrespondenceEmails, endContactMaster, getContactMaster, listFollowers, setContactMaster } from '../registry/masters';
import { masterLinkSchema } from '../registry/schemas';
import { errorResponses } from './errors';
import type { ZodApp } from './zod-app';
import { clientParamsSchema, contactParamsSchema, endMasterQuerySchema } from './request-schemas';
import { contactResponseSchema } from './responses';

const masterResponseSchema = z
  .object({
    type: z.enum(['client', 'contact']),
    id: z.number().int().describe('the person client\'s or the master contact\'s id'),
    clientNumber: z.string().describe('the person client, or the client of the master contact'),
  })
  .meta({ id: 'Master' });

const followersResponseSchema = z.object({ followers: z.array(contactResponseSchema) });

const correspondenceEmailsResponseSchema = z
  .object({
    addresses: z.array(z.object({ address: z.string(), kind: z.enum(['business', 'private']) })),
    notOffered: z.array(z.object({ kind: z.enum(['business', 'private']), reason: z.string() })),
  })
  .meta({ id: 'CorrespondenceEmails' });

/** "Koppelen aan hoofd(contact)persoon": master links, followers, correspondence addresses. */
/** PUT, DELETE and GET /contacts/:id/master: the link itself. */
function registerMasterLink(app: ZodApp, db: Db): void {
  app.put(
    '/contacts/:id/master',
    {
      schema: {
        tags: ['masters'],
        summary: "Link the contact to its master (a person client, or a contact where there is none)",
        description:
          "The contact takes over the master's private data at once and cannot edit it while linked. " +
          "In Client Online it shares the master's login: one login and one credentials mail per real person.",
        params: contactParamsSchema,
        body: masterLinkSchema,
        response: { 200: contactResponseSchema, ...errorResponses(400, 401, 404, 409, 422) },
      },
    },
    async (request) => setContactMaster(db, request.params.id, request.body),
  );

  app.delete(
    '/contacts/:id/master',
    {
      schema: {
        tags: ['masters'],
        summary: 'End the master link; the contact keeps its values and can edit them again',
        description:
          'Refused (409) while the contact is linked to Client Online or its switch-off has not reached Client Online: ' +
          'offboard bottom-up (contact link off, then the clients, then the master link), or pass force=true.',
        params: contactParamsSchema,
        querystring: endMasterQuerySchema,
        response: { 200: contactResponseSchema, ...errorResponses(400, 401, 404, 409) },
      },
    },
    async (request) => endContactMaster(db, request.params.id, { force: request.query.force }),
  );

  app.get(
    '/contacts/:id/master',
    {
      schema: {
        tags: ['masters'],
        summary: 'The master this contact follows',
        params: contactParamsSchema,
        response: { 200: masterResponseSchema, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const found = await getContactMaster(db, request.params.id);
      if (!found) throw new RegistryError('not-found', `contact ${request.params.id} follows no master`);
      return { type: found.master.type, id: found.master.id, clientNumber: found.clientNumber };
    },
  );
}

/** Who follows a master, and which addresses a contact may be written to. */
function registerFollowerReads(app: ZodApp, db: Db): void {
  app.get(
    '/contacts/:id/followers',
    {
      schema: {
        tags: ['masters'],
        summary: 'The contacts that follow this contact as their master',
        params: contactParamsSchema,
        response: { 200: followersResponseSchema, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const contact = await getContact(db, request.params.id);
      return { followers: await listFollowers(db, { type: 'contact', id: contact.id }) };
    },
  );

  app.get(
    '/clients/:number/followers',
    {
      schema: {
        tags: ['masters'],
        summary: 'The contacts that follow this person client as their master',
        params: clientParamsSchema,
        response: { 200: followersResponseSchema, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const client = await getClient(db, request.params.number);
      return { followers: await listFollowers(db, { type: 'client', id: client.id }) };
    },
  );

  app.get(
    '/contacts/:id/correspondence-emails',
    {
      schema: {
        tags: ['masters'],
        summary: 'The addresses that may be chosen for correspondence to the contact, and why others may not',
        params: contactParamsSchema,
        response: { 200: correspondenceEmailsResponseSchema, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => contactCorrespondenceEmails(db, request.params.id),
  );
}

/** "Koppelen aan hoofd(contact)persoon": master links, followers, correspondence addresses. */
export const masterRoutes: FastifyPluginCallbackZod<{ db: Db }> = (app, { db }, done) => {
  registerMasterLink(app, db);
  registerFollowerReads(app, db);
  done();
};
