import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import type { Db } from '../db';
import { callerOf } from './auth';
import { RegistryError } from '../registry/errors';
import { noteAuditRecordIds } from './audit';
import { errorResponses } from './errors';
import { apiTokenSchema, callerSchema, createdTokenSchema, createTokenRequestSchema, tokenListQuerySchema, tokenParamsSchema } from './token-schemas';
import { ApiTokenError, createApiToken, listApiTokens, revokeApiToken } from './tokens';

// The API tokens, managed where the operators are (issue 18): a token with the admin role (or the
// built-in token, which has every role) makes, lists and revokes them. routeAccess gives these
// routes to admin only; every call lands in the audit (src/api/audit.ts) like any other change.

/** A name in use answers 409, no such token 404, as the registry's refusals do. */
async function refusedAsRegistry<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ApiTokenError) throw new RegistryError(error.code, error.message);
    throw error;
  }
}

export const tokenRoutes: FastifyPluginCallbackZod<{ db: Db }> = (app, { db }, done) => {
  app.post(
    '/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Make a token; its secret is in this answer only',
        description:
          'Only a SHA-256 hash of the secret is kept, so no later answer can show it again: hand it to its holder now. ' +
          'A name may be used again once its token is revoked.',
        body: createTokenRequestSchema,
        response: { 201: createdTokenSchema, ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      noteAuditRecordIds(request, { token: request.body.name });
      const { token, secret } = await refusedAsRegistry(() => createApiToken(db, request.body));
      request.log.info({ tokenName: token.name, role: token.role }, 'token made');
      return reply.code(201).send({ ...token, secret });
    },
  );

  app.get(
    '/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: 'The tokens by name: role, made, last used, revoked; never a secret nor its hash',
        querystring: tokenListQuerySchema,
        response: { 200: apiTokenSchema.array(), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => listApiTokens(db, { includeRevoked: request.query.includeRevoked === true }),
  );

  app.delete(
    '/tokens/:name',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Revoke a token: the API refuses it from its next request on (401)',
        description: 'The row stays, so that offboardings and the audit still name it; the name may be given to a new token.',
        params: tokenParamsSchema,
        response: { 200: apiTokenSchema, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const token = await refusedAsRegistry(() => revokeApiToken(db, request.params.name));
      request.log.info({ tokenName: token.name }, 'token revoked');
      return token;
    },
  );

  // Who the caller is (issue 21): any token may ask, so that the console can greet it by name and
  // offer only what its role may do. A read: the audit leaves it out.
  app.get(
    '/me',
    {
      schema: {
        tags: ['tokens'],
        summary: 'The token this request was made with: its name and its roles',
        response: { 200: callerSchema, ...errorResponses(401) },
      },
    },
    (request) => {
      const caller = callerOf(request);
      return { name: caller.name, roles: [...caller.roles], builtIn: caller.builtIn };
    },
  );

  done();
};
