import { z } from 'zod';

// The registry's shapes, defined once: the API validates with them, types come from them and the
// OpenAPI document is generated from them. The registry accepts what the portals forbid (no email,
// a shared email); only malformed data is refused.

// PostgreSQL text cannot hold NUL, and an unpaired surrogate (valid in a JSON string escape, not
// in Unicode) would be stored as U+FFFD: refused, so that what is stored is what was sent.
const unpairedSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
export const storableTextMessage = 'text may not hold NUL characters or unpaired UTF-16 surrogates';
/** Text that PostgreSQL stores as sent. */
export const storableText = () => z.string().refine((value) => !value.includes('\u0000') && !unpairedSurrogate.test(value), storableTextMessage);

const text = (max: number) => storableText().trim().min(1).max(max);
const optionalText = (max: number) => text(max).nullable().optional();
const email = z.string().trim().toLowerCase().pipe(z.email()).nullable().optional();

export const clientNumberSchema = z
  .string()
  .regex(/^[A-Za-z0-9-]{1,10}$/, 'a client number is 1 to 10 letters, digits or dashes');
export const clientKindSchema = z.enum(['company', 'person']);
export const clientStatusSchema = z.enum(['client', 'suspect', 'former']);
export const emailPreferenceSchema = z.enum(['business', 'private']);

export const privatePersonFields = {
  firstName: optionalText(100),
  infix: optionalText(30),
  lastName: optionalText(100),
  initials: optionalText(20),
  bsn: z.string().regex(/^[0-9]{9}$/, 'a BSN is 9 digits').nullable().optional(),
  residentialStreet: optionalText(200),
  residentialPostcode: optionalText(20),
  residentialCity: optionalText(100),
  residentialCountry: optionalText(100),
  correspondenceStreet: optionalText(200),
  correspondencePostcode: optionalText(20),
  correspondenceCity: optionalText(100),
  correspondenceCountry: optionalText(100),
  privateEmail: email,
  privateMobile: optionalText(40),
  correspondenceEmailPreference: emailPreferenceSchema.optional(),
};

const companyFields = {
  name: text(200),
  address: optionalText(200),
  postcode: optionalText(20),
  city: optionalText(100),
  country: optionalText(100),
  phone: optionalText(40),
  email,
  website: optionalText(200),
  facebook: optionalText(200),
  twitter: optionalText(100),
  linkedin: optionalText(200),
};

export const linksSchema = z.strictObject({
  caseware: z.boolean(),
  clientOnline: z.boolean(),
});
export const linksPatchSchema = linksSchema.partial();

export const clientCreateSchema = z.strictObject({
  clientNumber: clientNumberSchema,
  kind: clientKindSchema,
  status: clientStatusSchema.default('client'),
  ...companyFields,
  ...privatePersonFields,
  links: linksPatchSchema.optional(),
});

export const clientPatchSchema = z
  .strictObject({
    status: clientStatusSchema,
    ...companyFields,
    ...privatePersonFields,
  })
  .partial()
  .refine((patch) => Object.keys(patch).length > 0, 'the body changes nothing');

export const contactCreateSchema = z.strictObject({
  master: z.lazy(() => masterLinkSchema).optional().describe('"create linked contact": follow this master, filled from it at once'),
  email,
  phone: optionalText(40),
  mobile: optionalText(40),
  ...privatePersonFields,
  links: linksPatchSchema.optional(),
});

export const contactPatchSchema = z
  .strictObject({
    email,
    phone: optionalText(40),
    mobile: optionalText(40),
    ...privatePersonFields,
  })
  .partial()
  .refine((patch) => Object.keys(patch).length > 0, 'the body changes nothing');

export const masterLinkSchema = z.union([
  z.strictObject({
    clientNumber: clientNumberSchema.describe('the person client whose private data this contact follows'),
  }),
  z.strictObject({
    contactId: z.number().int().positive().describe('a contact as master, only where no person client exists for the person'),
  }),
]);
export type MasterLink = z.infer<typeof masterLinkSchema>;

export type ClientKind = z.infer<typeof clientKindSchema>;
export type ClientStatus = z.infer<typeof clientStatusSchema>;
export type Links = z.infer<typeof linksSchema>;
export type LinksPatch = z.infer<typeof linksPatchSchema>;
export type ClientCreate = z.infer<typeof clientCreateSchema>;
export type ClientPatch = z.infer<typeof clientPatchSchema>;
export type ContactCreate = z.infer<typeof contactCreateSchema>;
export type ContactPatch = z.infer<typeof contactPatchSchema>;

/** A real person's private data, held by person clients and contacts alike. */
export interface PrivatePersonData {
  firstName: string | null;
  infix: string | null;
  lastName: string | null;
  initials: string | null;
  bsn: string | null;
  residentialStreet: string | null;
  residentialPostcode: string | null;
  residentialCity: string | null;
  residentialCountry: string | null;
  correspondenceStreet: string | null;
  correspondencePostcode: string | null;
  correspondenceCity: string | null;
  correspondenceCountry: string | null;
  privateEmail: string | null;
  privateMobile: string | null;
  correspondenceEmailPreference: 'business' | 'private';
}

/** A client as the registry holds it (camelCase view of the `clients` row). */
export interface Client extends PrivatePersonData {
  id: number;
  clientNumber: string;
  kind: ClientKind;
  status: ClientStatus;
  name: string;
  address: string | null;
  postcode: string | null;
  city: string | null;
  country: string | null;
  phone: string | null;
  email: string | null;
  website: string | null;
  facebook: string | null;
  twitter: string | null;
  linkedin: string | null;
  links: Links;
  createdAt: Date;
  updatedAt: Date;
}

/** A contact person at a company client. */
export interface Contact extends PrivatePersonData {
  id: number;
  clientId: number;
  clientNumber: string;
  email: string | null;
  phone: string | null;
  mobile: string | null;
  links: Links;
  /** The master this contact follows: a person client, or (where none exists) another contact. */
  masterClientId: number | null;
  masterContactId: number | null;
  deletedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}
