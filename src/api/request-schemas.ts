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

export const syncErrorsQuerySchema = z.object({
  clientNumber: clientNumberSchema.optional(),
  includeResolved: queryBoolean.optional().describe('also list errors that have resolved; default false'),
});
