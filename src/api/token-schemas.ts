import { z } from 'zod';
import { roles, tokenNameSchema } from './tokens';

// The shapes of /tokens (issue 18): an admin makes, lists and revokes the API tokens. A secret
// appears in one answer only, the one that made it; nothing else ever shows it or its hash.

const roleSchema = z.enum(roles, { error: `the role is one of ${roles.join(', ')}` });

const tokenName = tokenNameSchema.describe('what the token is for or whose it is (e.g. crm, anna), as offboardings and the audit name it');

export const createTokenRequestSchema = z
  .strictObject({
    name: tokenName,
    role: roleSchema.describe('viewer reads; registry also writes the registry; operator also offboards, resyncs, runs the reconcile, holds portals; admin manages the tokens and reads the audit'),
  })
  .meta({ id: 'CreateTokenRequest' });

export const apiTokenSchema = z
  .object({
    name: z.string(),
    role: roleSchema,
    createdAt: z.date(),
    lastUsedAt: z.date().nullable().describe('to the minute'),
    revokedAt: z.date().nullable().describe('null while the token may be used'),
  })
  .meta({ id: 'ApiToken' });

export const createdTokenSchema = apiTokenSchema
  .extend({ secret: z.string().describe('send it as `Authorization: Bearer <secret>`; shown in this answer only: only a hash of it is kept') })
  .meta({ id: 'CreatedApiToken' });

export const tokenListQuerySchema = z.strictObject({
  includeRevoked: z
    .enum(['true', 'false'], { error: 'includeRevoked is true or false' })
    .transform((value) => value === 'true')
    .optional()
    .describe('true: also the revoked tokens'),
});

export const tokenParamsSchema = z.object({ name: tokenName });

export const callerSchema = z
  .object({
    name: z.string().describe('the token\'s name, as offboardings and the audit record it; "api" for the built-in token'),
    roles: z.array(roleSchema).describe('one role for a made token; every role for the built-in token'),
    builtIn: z.boolean().describe('true: the configured or generated API token (API_TOKEN, DATA_DIR/api-token)'),
  })
  .meta({ id: 'Caller' });
