import { z } from 'zod';

// Client Online (PinkWeb) wire shapes, defined once for the client and the simulator. No public API
// documentation exists: every shape and rule here is [assumed] (see docs: portals.md) and kept in
// this one module so that it is easy to correct when real documentation arrives. What is public is
// the behaviour of the firm-side integration: a client is pushed with all its users, a user missing
// from a push loses that client, the service mails credentials to every user it believes new, and
// one login can see several clients.

// ---------------------------------------------------------------------------------------------
// Paths, auth, paging
// ---------------------------------------------------------------------------------------------

// [assumed] Every API path starts here, below the configured base URL.
export const CO_API_PREFIX = '/api/v1';
// [assumed] The API key travels in this header.
export const CO_API_KEY_HEADER = 'X-Api-Key';
// [assumed] Pages are numbered from 1.
export const CO_FIRST_PAGE = 1;
// [assumed] The largest page the service serves; larger requests are clamped to it.
export const CO_MAX_PAGE_SIZE = 100;
// [assumed] The page size the service uses when none is asked for.
export const CO_DEFAULT_PAGE_SIZE = 50;

// [assumed] A client number is 1 to 20 letters, digits, dots, dashes or underscores.
export const coClientNumberPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,19}$/;

// [assumed]
export const coClientKinds = ['company', 'person'] as const;
export const coClientKindSchema = z.enum(coClientKinds);
export type CoClientKind = z.infer<typeof coClientKindSchema>;

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

// [assumed] Error codes the service answers in its error body.
export const coServiceErrorCodes = [
  'invalid', // 400
  'unauthorized', // 401
  'not-found', // 404
  'username-taken', // 409: another login has this username (the email)
  'conflict', // 409: a login with this ref was created while the push was processed
  'rate-limited', // 429
  'unavailable', // 500, 503
  'internal', // 500
] as const;
export type CoServiceErrorCode = (typeof coServiceErrorCodes)[number];

// [assumed] Every refusal answers `{ error: { code, message } }`; 429 also sends Retry-After.
export const coErrorBodySchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
export type CoErrorBody = z.infer<typeof coErrorBodySchema>;

// ---------------------------------------------------------------------------------------------
// Shapes the service answers. Unknown properties are dropped, absent optional text reads as null.
// ---------------------------------------------------------------------------------------------

// [assumed] Absent text fields in an answer mean "no value".
const answeredText = z.string().nullable().default(null);

// [assumed] A client user as the service answers it under a client: the login's details (shared by
// every client the login sees) with the service's own `loginId` next to our `ref`.
export const coUserSchema = z.object({
  ref: z.string().min(1),
  loginId: z.string().min(1),
  firstName: answeredText,
  infix: answeredText,
  lastName: answeredText,
  initials: answeredText,
  email: z.string(),
  mobile: answeredText,
});
export type CoUser = z.infer<typeof coUserSchema>;

// [assumed] A client with its users, as stored.
export const coClientSchema = z.object({
  clientNumber: z.string().min(1),
  name: z.string(),
  kind: coClientKindSchema,
  address: answeredText,
  postcode: answeredText,
  city: answeredText,
  country: answeredText,
  phone: answeredText,
  email: answeredText,
  bsn: answeredText,
  users: z.array(coUserSchema),
});
export type CoClient = z.infer<typeof coClientSchema>;

// [assumed] GET /clients?page=&pageSize= answers one page and the total count.
export const coClientPageSchema = z.object({
  items: z.array(coClientSchema),
  page: z.number().int(),
  pageSize: z.number().int(),
  total: z.number().int(),
});
export type CoClientPage = z.infer<typeof coClientPageSchema>;

// ---------------------------------------------------------------------------------------------
// The push body, with the rules the service enforces. The simulator validates with it; the
// client's parameter type is its input type.
// ---------------------------------------------------------------------------------------------

// [assumed] Limits and formats; the service is generous but not unbounded.
const optionalText = (field: string, max: number) =>
  z.string().max(max, `${field} may be at most ${max} characters`).nullable().optional();
const emailRequired = 'email is required; it is the login name';
const loginEmail = z
  .string({ error: emailRequired })
  .max(100, 'email may be at most 100 characters')
  .refine((value) => value.trim().length > 0, emailRequired)
  .refine((value) => /^[^\s@]+@[^\s@]+$/.test(value), 'email is not a valid email address');

// [assumed] A client user in a push. `ref` is our identity key of the login: the same ref under
// several clients is one login that sees all of them.
export const coUserPushSchema = z.strictObject({
  ref: z
    .string({ error: 'ref is required' })
    .min(1, 'ref is required')
    .max(64, 'ref may be at most 64 characters'),
  firstName: optionalText('firstName', 50),
  infix: optionalText('infix', 20),
  lastName: optionalText('lastName', 100),
  initials: optionalText('initials', 20),
  email: loginEmail,
  mobile: optionalText('mobile', 30),
});
export type CoUserPush = z.input<typeof coUserPushSchema>;

// [assumed] PUT /clients/{clientNumber}: the whole client with all its users; unknown properties
// are refused, so that a misspelt property is caught rather than silently dropped.
export const coClientPushSchema = z
  .strictObject({
    name: z
      .string({ error: 'name is required' })
      .max(100, 'name may be at most 100 characters')
      .refine((value) => value.trim().length > 0, 'name is required'),
    kind: coClientKindSchema,
    address: optionalText('address', 200),
    postcode: optionalText('postcode', 20),
    city: optionalText('city', 100),
    country: optionalText('country', 100),
    phone: optionalText('phone', 30),
    email: optionalText('email', 100),
    // [assumed] Nine digits; only person clients have one. Sent only when the firm switches it on.
    bsn: z.string().regex(/^\d{9}$/, 'bsn must be nine digits').nullable().optional(),
    users: z.array(coUserPushSchema, { error: 'users is required (it may be empty)' }),
  })
  .superRefine((push, context) => {
    if (push.kind !== 'person' && push.bsn !== undefined && push.bsn !== null) {
      context.addIssue({ code: 'custom', path: ['bsn'], message: 'bsn is only for person clients' });
    }
    const seen = new Set<string>();
    push.users.forEach((user, index) => {
      if (seen.has(user.ref)) {
        context.addIssue({ code: 'custom', path: ['users', index, 'ref'], message: `ref ${user.ref} appears twice` });
      }
      seen.add(user.ref);
    });
  });
export type CoClientPush = z.input<typeof coClientPushSchema>;
export type CoClientPushParsed = z.output<typeof coClientPushSchema>;
