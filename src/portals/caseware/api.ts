import { z } from 'zod';

// CaseWare Cloud API v2 wire shapes, defined once for the client and the simulator. Facts from
// public documentation are marked [public]; everything marked [assumed] is our best guess and is
// kept here so that it is easy to correct when real documentation arrives.

// ---------------------------------------------------------------------------------------------
// Paging and searching
// ---------------------------------------------------------------------------------------------

// [public] Lists answer a bare JSON array paged with `page` and `pageSize`; an empty page ends it.
// [assumed] Pages are numbered from 1.
export const CW_FIRST_PAGE = 1;
// [assumed] The largest page the service serves; larger requests are clamped to it.
export const CW_MAX_PAGE_SIZE = 100;
// [assumed] The page size the service uses when none is asked for.
export const CW_DEFAULT_PAGE_SIZE = 50;

// [public] `search=<Field><op><value>`: strings in single quotes, `\` escapes.
export const cwSearchOperators = ['<>', '=', '<', '>'] as const;
export type CwSearchOperator = (typeof cwSearchOperators)[number];

/** Quotes a string for a `search=` expression: `O'Brien` becomes `'O\'Brien'`. */
export function cwQuote(value: string): string {
  return `'${value.replace(/[\\']/g, (character) => `\\${character}`)}'`;
}

/** A whole `search=` expression, for example `EntityNo='1001'`. */
export function cwSearch(field: string, operator: CwSearchOperator, value: string | number | boolean): string {
  return `${field}${operator}${typeof value === 'string' ? cwQuote(value) : String(value)}`;
}

// ---------------------------------------------------------------------------------------------
// Auth and errors
// ---------------------------------------------------------------------------------------------

// [public]
export const cwTokenRequestSchema = z.object({
  ClientId: z.string().min(1),
  ClientSecret: z.string().min(1),
  Language: z.string().min(1),
});
export type CwTokenRequest = z.infer<typeof cwTokenRequestSchema>;

// [public]
export const cwTokenResponseSchema = z.object({ Token: z.string().min(1) });
export type CwTokenResponse = z.infer<typeof cwTokenResponseSchema>;

// [public]
export const cwErrorBodySchema = z.object({ errors: z.array(z.object({ message: z.string() })) });
export type CwErrorBody = z.infer<typeof cwErrorBodySchema>;

// ---------------------------------------------------------------------------------------------
// Shapes the service answers. Unknown properties are dropped, absent optional text reads as null.
// ---------------------------------------------------------------------------------------------

// [assumed] Absent text fields in an answer mean "no value".
const answeredText = z.string().nullable().default(null);

// [public] Name and entity number; [assumed] the property names EntityNo and the address, phone,
// email, website and social properties.
export const cwEntitySchema = z.object({
  CWGuid: z.string().min(1),
  Name: z.string(),
  EntityNo: z.string(),
  Address: answeredText, // [assumed]
  PostalCode: answeredText, // [assumed]
  City: answeredText, // [assumed]
  Country: answeredText, // [assumed]
  Phone: answeredText, // [assumed]
  Email: answeredText, // [assumed]
  Website: answeredText, // [assumed]
  Facebook: answeredText, // [assumed]
  Twitter: answeredText, // [assumed]
  LinkedIn: answeredText, // [assumed]
});
export type CwEntity = z.infer<typeof cwEntitySchema>;
/** What we send for a client entity (Name max 60, EntityNo max 10 characters). */
export type CwEntityFields = Omit<CwEntity, 'CWGuid'>;

// [assumed] Owner types; we only ever create contacts.
export const cwOwnerTypes = ['Contact', 'Staff'] as const;
export const cwOwnerTypeSchema = z.enum(cwOwnerTypes);
export type CwOwnerType = z.infer<typeof cwOwnerTypeSchema>;

// [public] Type "A" is active, "I" inactive; InActiveDate is yyyy-MM-dd.
export const cwUserTypeSchema = z.enum(['A', 'I']);
export type CwUserType = z.infer<typeof cwUserTypeSchema>;
const cwDatePattern = /^\d{4}-\d{2}-\d{2}$/;

// [public] CWGuid, OwnerType, FirstName, MiddleName, LastName, Title, Email, UserName, Type,
// InActiveDate.
export const cwUserSchema = z.object({
  CWGuid: z.string().min(1),
  OwnerType: z.string(), // answers are read leniently: a staff type we do not know is no error
  Type: cwUserTypeSchema,
  InActiveDate: answeredText,
  Email: z.string(),
  UserName: answeredText,
  Title: answeredText,
  FirstName: answeredText,
  MiddleName: answeredText,
  LastName: answeredText,
  Initials: answeredText, // [assumed] property name
  Phone: answeredText, // [assumed] property name
  MobilePhone: answeredText, // [assumed] property name
});
export type CwUser = z.infer<typeof cwUserSchema>;
/** What we send for a contact: the Dutch infix goes to MiddleName; Email is the login. */
export interface CwContactFields {
  FirstName: string | null;
  MiddleName: string | null;
  LastName: string | null;
  Initials: string | null;
  Email: string;
  Phone: string | null;
  MobilePhone: string | null;
}

// [public]
export const cwRoleSchema = z.object({
  Id: z.number(),
  CWGuid: z.string().min(1),
  Name: z.string(),
  Description: answeredText,
});
export type CwRole = z.infer<typeof cwRoleSchema>;

// [assumed] Groups answer the same shape as roles.
export const cwGroupSchema = z.object({
  Id: z.number(),
  CWGuid: z.string().min(1),
  Name: z.string(),
  Description: answeredText,
});
export type CwGroup = z.infer<typeof cwGroupSchema>;

// [assumed] GET /entities/{CWGuid}/role-assignments answers [{userId, roleId}] (CWGuids), paged.
export const cwRoleAssignmentSchema = z.object({ userId: z.string().min(1), roleId: z.string().min(1) });
export type CwRoleAssignment = z.infer<typeof cwRoleAssignmentSchema>;

// [assumed] GET /role-assignments answers every entity's role assignments [{entityId, userId,
// roleId}] (CWGuids), paged like every list. The public API has role assignments only per entity;
// this bulk route is a guess, there so that a reconcile reads them in pages rather than one call
// per entity.
export const cwFirmRoleAssignmentSchema = z.object({
  entityId: z.string().min(1),
  userId: z.string().min(1),
  roleId: z.string().min(1),
});
export type CwFirmRoleAssignment = z.infer<typeof cwFirmRoleAssignmentSchema>;

// [assumed] GET /groups/{CWGuid}/user-assignments answers [{userId}] (CWGuids), paged.
export const cwGroupMemberSchema = z.object({ userId: z.string().min(1) });
export type CwGroupMember = z.infer<typeof cwGroupMemberSchema>;

// ---------------------------------------------------------------------------------------------
// Request bodies, with the rules the service enforces. The simulator validates with these; the
// client's parameter types must fit them.
// ---------------------------------------------------------------------------------------------

const required = (field: string, max: number) =>
  z
    .string({ error: `${field} is required` })
    .max(max, `${field} may be at most ${max} characters`)
    .refine((value) => value.trim().length > 0, `${field} is required`);
// [assumed] Fields without a published limit accept any length.
const optionalText = (field: string, max?: number) =>
  (max === undefined ? z.string() : z.string().max(max, `${field} may be at most ${max} characters`))
    .nullable()
    .optional();
// [assumed] The service checks the form of an email address loosely.
const loginEmail = z
  .string({ error: 'Email is required; it is the login and cannot be removed' })
  .max(100, 'Email may be at most 100 characters')
  .refine((value) => value.trim().length > 0, 'Email is required; it is the login and cannot be removed')
  .refine((value) => /^[^\s@]+@[^\s@]+$/.test(value), 'Email is not a valid email address');
const inActiveDate = z.string().regex(cwDatePattern, 'InActiveDate must be yyyy-MM-dd').nullable().optional();

// [assumed] POST /entities. [public] Name max 60, entity number max 10. [assumed] Unknown
// properties are refused, so that a misspelt property is caught rather than silently dropped.
export const cwEntityCreateBodySchema = z.strictObject({
  Name: required('Name', 60),
  EntityNo: required('EntityNo', 10),
  Address: optionalText('Address'),
  PostalCode: optionalText('PostalCode'),
  City: optionalText('City'),
  Country: optionalText('Country'),
  Phone: optionalText('Phone'),
  Email: optionalText('Email'),
  Website: optionalText('Website'),
  Facebook: optionalText('Facebook'),
  Twitter: optionalText('Twitter'),
  LinkedIn: optionalText('LinkedIn'),
});
export type CwEntityCreateBody = z.input<typeof cwEntityCreateBodySchema>;

// [assumed] PATCH /entities/{CWGuid}: any subset of the create body.
export const cwEntityPatchBodySchema = cwEntityCreateBodySchema.partial();
export type CwEntityPatchBody = z.input<typeof cwEntityPatchBodySchema>;

// [assumed] DELETE /entities/{CWGuid} answers 204 and ends every role assignment on the entity;
// an unknown CWGuid answers 404.

const ownerType = z.enum(cwOwnerTypes, {
  error: (issue) => (issue.input === undefined ? 'OwnerType is required' : 'OwnerType must be Contact or Staff'),
});

// [public] POST /users: OwnerType required, FirstName max 30, Email required max 100, UserName max 50.
const userBodyFields = {
  OwnerType: ownerType,
  Email: loginEmail,
  UserName: optionalText('UserName', 50),
  Title: optionalText('Title'),
  FirstName: optionalText('FirstName', 30),
  MiddleName: optionalText('MiddleName'),
  LastName: optionalText('LastName'),
  Initials: optionalText('Initials'), // [assumed] property name
  Phone: optionalText('Phone'), // [assumed] property name
  MobilePhone: optionalText('MobilePhone'), // [assumed] property name
  Type: cwUserTypeSchema.optional(),
  InActiveDate: inActiveDate,
};
export const cwUserCreateBodySchema = z.strictObject(userBodyFields);
export type CwUserCreateBody = z.input<typeof cwUserCreateBodySchema>;

// [public] Every PATCH /users/{CWGuid} carries OwnerType; [assumed] removing Email answers 400.
export const cwUserPatchBodySchema = z.strictObject({
  ...userBodyFields,
  Email: loginEmail.optional(),
});
export type CwUserPatchBody = z.input<typeof cwUserPatchBodySchema>;

// [assumed] PATCH /entities/{CWGuid}/role-assignments.
export const cwRoleAssignmentPatchBodySchema = z.strictObject({
  userIds: z.array(z.string().min(1)),
  roleId: z.string().min(1),
  isRemove: z.boolean(),
});
export type CwRoleAssignmentPatchBody = z.infer<typeof cwRoleAssignmentPatchBodySchema>;

// [public] PATCH /groups/{CWGuid}/user-assignments.
export const cwGroupAssignmentPatchBodySchema = z.strictObject({
  people: z.array(z.string().min(1)),
  isRemove: z.boolean(),
});
export type CwGroupAssignmentPatchBody = z.infer<typeof cwGroupAssignmentPatchBodySchema>;
