import { z } from 'zod';
import { clientNumberSchema, linksPatchSchema } from '../registry/schemas';

// Path and query shapes of the API, built on the registry's schemas.

export const clientParamsSchema = z.object({ number: clientNumberSchema });

export const contactParamsSchema = z.object({
  id: z
    .string()
    .regex(/^[1-9][0-9]{0,14}$/, 'a contact id is a positive whole number')
    .transform(Number),
});

export const linksUpdateSchema = linksPatchSchema.refine(
  (links) => links.caseware !== undefined || links.clientOnline !== undefined,
  'the body changes nothing: give caseware, clientOnline or both',
);

const queryBoolean = z
  .enum(['true', 'false'])
  .transform((value) => value === 'true');

export const endMasterQuerySchema = z.object({
  force: queryBoolean
    .optional()
    .describe('end the link although the contact may still be in Client Online (risking a second login and credentials mail)'),
});

/** A portal as the API spells it (the sync tables say `client_online`). */
export const portalSchema = z.enum(['caseware', 'clientOnline']);

const limitMessage = 'the limit is a whole number from 1 to 1000';

// Strict: a misspelt filter must not answer the whole list as if it had been applied.
export const syncErrorsQuerySchema = z.strictObject({
  portal: portalSchema.optional().describe("only this portal's errors, and only its health in `portals`"),
  code: z
    .string()
    .regex(/^[A-Za-z0-9:._-]{1,100}$/, 'a sync error code is 1 to 100 letters, digits, dashes, dots, colons or underscores')
    .optional()
    .describe('only errors with this code, e.g. missing-email'),
  clientNumber: clientNumberSchema.optional().describe("only this client's errors"),
  includeResolved: queryBoolean.optional().describe('also list errors that have resolved; default false'),
  limit: z.coerce
    .number({ error: limitMessage })
    .int(limitMessage)
    .min(1, limitMessage)
    .max(1000, limitMessage)
    .default(100)
    .describe('at most this many errors, the most recently seen first; `total` says how many match'),
});
