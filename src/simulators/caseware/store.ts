import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  CW_DEFAULT_PAGE_SIZE,
  CW_FIRST_PAGE,
  CW_MAX_PAGE_SIZE,
  cwEntityCreateBodySchema,
  cwEntityPatchBodySchema,
  cwGroupAssignmentPatchBodySchema,
  cwRoleAssignmentPatchBodySchema,
  cwUserCreateBodySchema,
  cwUserPatchBodySchema,
  type CwEntity,
  type CwGroup,
  type CwRole,
  type CwUser,
} from '../../portals/caseware/api';
import { SimulatorError } from './errors';
import { matchesSearch, parseSearch, type SearchableFields } from './search';

// The data of the simulated CaseWare Cloud firm and every rule the service enforces on it. Records
// are kept in maps by key, in the order they were made, with indexes for the unique values and for
// an entity's role assignments: a firm of 10 000 entities and 30 000 contacts costs a request at
// most one pass over one collection (a list page that searches), never one per item.

export interface SimulatedMail {
  to: string;
  kind: 'credentials';
  at: string;
}

export interface StoredRoleAssignment {
  entityId: string;
  userId: string;
  roleId: string;
}

export interface StoredGroupAssignment {
  groupId: string;
  userId: string;
}

export interface SimulatorState {
  entities: CwEntity[];
  users: CwUser[];
  roles: CwRole[];
  groups: CwGroup[];
  roleAssignments: StoredRoleAssignment[];
  groupAssignments: StoredGroupAssignment[];
  mails: SimulatedMail[];
}

export interface ListQuery {
  page?: unknown;
  pageSize?: unknown;
  search?: unknown;
}

/**
 * `POST /_sim/load` (a test and demo hook): records made at once, as if the service had created
 * them long ago; no credentials mail. Entities and users take the create bodies of the API, with
 * an optional CWGuid of the caller's choosing; role and group assignments name the role or group.
 */
export const simLoadSchema = z.strictObject({
  entities: z.array(z.looseObject({ CWGuid: z.string().min(1).optional() })).default([]),
  users: z.array(z.looseObject({ CWGuid: z.string().min(1).optional() })).default([]),
  roleAssignments: z
    .array(z.strictObject({ entityId: z.string().min(1), userId: z.string().min(1), roleName: z.string().min(1) }))
    .default([]),
  groupAssignments: z.array(z.strictObject({ groupName: z.string().min(1), userId: z.string().min(1) })).default([]),
});

export interface SimLoadResult {
  /** CWGuids of the loaded entities and users, in the order given. */
  entities: string[];
  users: string[];
  roleAssignments: number;
  groupAssignments: number;
}

/**
 * `POST /_sim/lookup`: records by CWGuid, entities also by number and users by email, each answered
 * under the key asked for (unknown ones left out), with the found entities' role assignments; not a
 * call of the API.
 */
export const simLookupSchema = z.strictObject({
  entities: z.array(z.string()).default([]),
  entityNumbers: z.array(z.string()).default([]),
  users: z.array(z.string()).default([]),
  emails: z.array(z.string()).default([]),
});

export interface SimLookupResult {
  entities: Record<string, CwEntity>;
  users: Record<string, CwUser>;
  /** By entity CWGuid. */
  roleAssignments: Record<string, { userId: string; roleId: string }[]>;
}

export interface StoreOptions {
  contactRoles: string[];
  groups: string[];
}

const text = 'string' as const;
const entityFields: SearchableFields = {
  CWGuid: text, Name: text, EntityNo: text, Address: text, PostalCode: text, City: text, Country: text,
  Phone: text, Email: text, Website: text, Facebook: text, Twitter: text, LinkedIn: text,
};
const userFields: SearchableFields = {
  CWGuid: text, OwnerType: text, Type: text, InActiveDate: text, Email: text, UserName: text, Title: text,
  FirstName: text, MiddleName: text, LastName: text, Initials: text, Phone: text, MobilePhone: text,
};
const roleFields: SearchableFields = { Id: 'number', CWGuid: text, Name: text, Description: text };

// [assumed] Built-in staff roles next to the configurable contact roles.
const staffRoles = ['Administrator', 'Staff'];

/** The key under which a unique, case-insensitive value (an email, an entity number) is indexed. */
function folded(value: string): string {
  return value.toLowerCase();
}

function roleAssignmentKey(assignment: StoredRoleAssignment): string {
  return `${assignment.entityId}\n${assignment.userId}\n${assignment.roleId}`;
}

function groupAssignmentKey(assignment: StoredGroupAssignment): string {
  return `${assignment.groupId}\n${assignment.userId}`;
}

export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  throw new SimulatorError(
    400,
    parsed.error.issues.map((issue) => {
      const field = issue.path.join('.');
      return field === '' || issue.message.startsWith(field) ? issue.message : `${field}: ${issue.message}`;
    }),
  );
}

/** Copies the properties present in a patch; `undefined` means "not sent". */
function applyPatch<T extends object>(target: T, patch: Partial<T>): void {
  for (const [key, value] of Object.entries(patch)) {
    if (value !== undefined) (target as Record<string, unknown>)[key] = value;
  }
}

export class CaseWareStore {
  /** By CWGuid. */
  private entities = new Map<string, CwEntity>();
  /** By folded EntityNo. */
  private entityNumbers = new Map<string, CwEntity>();
  /** By CWGuid. */
  private users = new Map<string, CwUser>();
  /** By folded Email. */
  private emails = new Map<string, CwUser>();
  private roles: CwRole[] = [];
  private groups: CwGroup[] = [];
  /** By roleAssignmentKey, over all entities. */
  private roleAssignments = new Map<string, StoredRoleAssignment>();
  /** The same assignments by entity CWGuid, then by roleAssignmentKey. */
  private entityRoleAssignments = new Map<string, Map<string, StoredRoleAssignment>>();
  /** By groupAssignmentKey. */
  private groupAssignments = new Map<string, StoredGroupAssignment>();
  private mails: SimulatedMail[] = [];

  constructor(private readonly options: StoreOptions) {
    this.reset();
  }

  reset(): void {
    this.entities = new Map();
    this.entityNumbers = new Map();
    this.users = new Map();
    this.emails = new Map();
    this.roleAssignments = new Map();
    this.entityRoleAssignments = new Map();
    this.groupAssignments = new Map();
    this.mails = [];
    this.roles = [...staffRoles, ...this.options.contactRoles].map((name, index) => ({
      Id: index + 1,
      CWGuid: randomUUID(),
      Name: name,
      Description: name.startsWith('Contact') ? `Built-in contact role ${name}` : `Built-in staff role ${name}`,
    }));
    this.groups = this.options.groups.map((name, index) => ({
      Id: index + 1,
      CWGuid: randomUUID(),
      Name: name,
      Description: null,
    }));
  }

  state(): SimulatorState {
    return structuredClone({
      entities: [...this.entities.values()],
      users: [...this.users.values()],
      roles: this.roles,
      groups: this.groups,
      roleAssignments: [...this.roleAssignments.values()],
      groupAssignments: [...this.groupAssignments.values()],
      mails: this.mails,
    });
  }

  // ----- test and demo hooks -------------------------------------------------------------------

  /**
   * Loads records in bulk, all or none: every body is checked with the API's own schema and every
   * rule of the store (unique CWGuid, EntityNo and email; assignments name records and a role or
   * group that exist), against what the store holds and the rest of the load, before anything is
   * stored. Nobody is mailed.
   */
  load(body: unknown): SimLoadResult {
    const load = parseBody(simLoadSchema, body);
    const guids = new Set<string>();
    const takeGuid = (guid: string | undefined, taken: (guid: string) => boolean): string => {
      const chosen = guid ?? randomUUID();
      if (guids.has(chosen) || taken(chosen)) throw new SimulatorError(409, `CWGuid ${chosen} is taken`);
      guids.add(chosen);
      return chosen;
    };

    const entityNumbers = new Set<string>();
    const entities = load.entities.map(({ CWGuid, ...fields }, index) => {
      const parsed = parseBody(cwEntityCreateBodySchema, fields);
      const number = folded(parsed.EntityNo);
      if (entityNumbers.has(number)) throw new SimulatorError(409, `entities[${index}]: An entity with this EntityNo already exists`);
      this.assertEntityNoFree(parsed.EntityNo);
      entityNumbers.add(number);
      return this.newEntity(takeGuid(CWGuid, (guid) => this.entities.has(guid)), parsed);
    });

    const emails = new Set<string>();
    const users = load.users.map(({ CWGuid, ...fields }, index) => {
      const parsed = parseBody(cwUserCreateBodySchema, fields);
      const email = folded(parsed.Email);
      if (emails.has(email)) throw new SimulatorError(409, `users[${index}]: A user with this email address already exists`);
      this.assertEmailFree(parsed.Email);
      emails.add(email);
      return this.newUser(takeGuid(CWGuid, (guid) => this.users.has(guid)), parsed);
    });

    const loadedEntities = new Set(entities.map((entity) => entity.CWGuid));
    const loadedUsers = new Set(users.map((user) => user.CWGuid));
    const entityExists = (guid: string) => loadedEntities.has(guid) || this.entities.has(guid);
    const userExists = (guid: string) => loadedUsers.has(guid) || this.users.has(guid);
    const roleAssignments = load.roleAssignments.map(({ entityId, userId, roleName }) => {
      const role = this.roles.find((candidate) => candidate.Name === roleName);
      if (!role) throw new SimulatorError(400, `no role is named ${roleName}`);
      if (!entityExists(entityId)) throw new SimulatorError(404, 'Entity not found');
      if (!userExists(userId)) throw new SimulatorError(404, 'User not found');
      return { entityId, userId, roleId: role.CWGuid };
    });
    const groupAssignments = load.groupAssignments.map(({ groupName, userId }) => {
      const group = this.groups.find((candidate) => candidate.Name === groupName);
      if (!group) throw new SimulatorError(404, 'Group not found');
      if (!userExists(userId)) throw new SimulatorError(404, 'User not found');
      return { groupId: group.CWGuid, userId };
    });

    for (const entity of entities) this.storeEntity(entity);
    for (const user of users) this.storeUser(user);
    for (const assignment of roleAssignments) this.addRoleAssignment(assignment);
    for (const assignment of groupAssignments) this.groupAssignments.set(groupAssignmentKey(assignment), assignment);
    return {
      entities: entities.map((entity) => entity.CWGuid),
      users: users.map((user) => user.CWGuid),
      roleAssignments: roleAssignments.length,
      groupAssignments: groupAssignments.length,
    };
  }

  /** The entities and users asked for (see simLookupSchema). */
  lookup(body: unknown): SimLookupResult {
    const query = parseBody(simLookupSchema, body);
    const entities: Record<string, CwEntity> = {};
    const users: Record<string, CwUser> = {};
    const roleAssignments: SimLookupResult['roleAssignments'] = {};
    const addEntity = (key: string, entity: CwEntity | undefined) => {
      if (entity === undefined) return;
      entities[key] = entity;
      roleAssignments[entity.CWGuid] = [...(this.entityRoleAssignments.get(entity.CWGuid)?.values() ?? [])].map(({ userId, roleId }) => ({ userId, roleId }));
    };
    for (const guid of query.entities) addEntity(guid, this.entities.get(guid));
    for (const number of query.entityNumbers) addEntity(number, this.entityNumbers.get(folded(number)));
    for (const guid of query.users) {
      const user = this.users.get(guid);
      if (user !== undefined) users[guid] = user;
    }
    for (const email of query.emails) {
      const user = this.emails.get(folded(email));
      if (user !== undefined) users[email] = user;
    }
    return structuredClone({ entities, users, roleAssignments });
  }

  // ----- entities ------------------------------------------------------------------------------

  listEntities(query: ListQuery): CwEntity[] {
    return page(this.entities.values(), query, entityFields);
  }

  getEntity(guid: string): CwEntity {
    return structuredClone(this.entity(guid));
  }

  createEntity(body: unknown): CwEntity {
    const fields = parseBody(cwEntityCreateBodySchema, body);
    this.assertEntityNoFree(fields.EntityNo);
    const entity = this.newEntity(randomUUID(), fields);
    this.storeEntity(entity);
    return structuredClone(entity);
  }

  private newEntity(guid: string, fields: z.output<typeof cwEntityCreateBodySchema>): CwEntity {
    return {
      CWGuid: guid,
      Name: fields.Name,
      EntityNo: fields.EntityNo,
      Address: fields.Address ?? null,
      PostalCode: fields.PostalCode ?? null,
      City: fields.City ?? null,
      Country: fields.Country ?? null,
      Phone: fields.Phone ?? null,
      Email: fields.Email ?? null,
      Website: fields.Website ?? null,
      Facebook: fields.Facebook ?? null,
      Twitter: fields.Twitter ?? null,
      LinkedIn: fields.LinkedIn ?? null,
    };
  }

  private storeEntity(entity: CwEntity): void {
    this.entities.set(entity.CWGuid, entity);
    this.entityNumbers.set(folded(entity.EntityNo), entity);
  }

  patchEntity(guid: string, body: unknown): CwEntity {
    const entity = this.entity(guid);
    const patch = parseBody(cwEntityPatchBodySchema, body);
    if (patch.EntityNo !== undefined) this.assertEntityNoFree(patch.EntityNo, entity);
    this.entityNumbers.delete(folded(entity.EntityNo));
    applyPatch(entity, patch);
    this.entityNumbers.set(folded(entity.EntityNo), entity);
    return structuredClone(entity);
  }

  /** [assumed] Deleting an entity ends every role assignment on it. */
  deleteEntity(guid: string): void {
    const entity = this.entity(guid);
    this.entities.delete(guid);
    this.entityNumbers.delete(folded(entity.EntityNo));
    for (const key of this.entityRoleAssignments.get(guid)?.keys() ?? []) this.roleAssignments.delete(key);
    this.entityRoleAssignments.delete(guid);
  }

  private entity(guid: string): CwEntity {
    const entity = this.entities.get(guid);
    if (entity === undefined) throw new SimulatorError(404, 'Entity not found');
    return entity;
  }

  private assertEntityNoFree(entityNo: string, self?: CwEntity): void {
    // [assumed] Entity numbers are unique, compared case-insensitively.
    const other = this.entityNumbers.get(folded(entityNo));
    if (other !== undefined && other !== self) {
      throw new SimulatorError(409, 'An entity with this EntityNo already exists');
    }
  }

  // ----- users ---------------------------------------------------------------------------------

  listUsers(query: ListQuery): CwUser[] {
    return page(this.users.values(), query, userFields);
  }

  getUser(guid: string): CwUser {
    return structuredClone(this.user(guid));
  }

  createUser(body: unknown): CwUser {
    const fields = parseBody(cwUserCreateBodySchema, body);
    this.assertEmailFree(fields.Email);
    const user = this.newUser(randomUUID(), fields);
    this.storeUser(user);
    // [public] Creating a contact makes CaseWare Cloud mail it login credentials.
    if (user.OwnerType === 'Contact') this.mails.push({ to: user.Email, kind: 'credentials', at: new Date().toISOString() });
    return structuredClone(user);
  }

  private newUser(guid: string, fields: z.output<typeof cwUserCreateBodySchema>): CwUser {
    const type = fields.Type ?? 'A';
    const inActiveDate = fields.InActiveDate ?? null;
    if (type === 'I' && inActiveDate === null) throw new SimulatorError(400, 'InActiveDate is required for an inactive user');
    return {
      CWGuid: guid,
      OwnerType: fields.OwnerType,
      Type: type,
      InActiveDate: inActiveDate,
      Email: fields.Email,
      UserName: fields.UserName ?? null,
      Title: fields.Title ?? null,
      FirstName: fields.FirstName ?? null,
      MiddleName: fields.MiddleName ?? null,
      LastName: fields.LastName ?? null,
      Initials: fields.Initials ?? null,
      Phone: fields.Phone ?? null,
      MobilePhone: fields.MobilePhone ?? null,
    };
  }

  private storeUser(user: CwUser): void {
    this.users.set(user.CWGuid, user);
    this.emails.set(folded(user.Email), user);
  }

  patchUser(guid: string, body: unknown): CwUser {
    const user = this.user(guid);
    const { OwnerType, Type, InActiveDate, ...patch } = parseBody(cwUserPatchBodySchema, body);
    // [assumed] A user keeps its owner type; the PATCH must name the one it has.
    if (OwnerType !== user.OwnerType) throw new SimulatorError(400, `OwnerType of this user is ${user.OwnerType}`);
    if (patch.Email !== undefined) this.assertEmailFree(patch.Email, user);
    let inActiveDate = InActiveDate === undefined ? user.InActiveDate : InActiveDate;
    if (Type === 'A' && InActiveDate === undefined) inActiveDate = null;
    const type = Type ?? user.Type;
    if (type === 'I' && inActiveDate === null) throw new SimulatorError(400, 'InActiveDate is required for an inactive user');
    this.emails.delete(folded(user.Email));
    applyPatch(user, patch);
    this.emails.set(folded(user.Email), user);
    user.Type = type;
    user.InActiveDate = inActiveDate;
    return structuredClone(user);
  }

  deleteUser(guid: string): void {
    const user = this.user(guid);
    this.users.delete(guid);
    this.emails.delete(folded(user.Email));
    for (const [key, assignment] of this.roleAssignments) {
      if (assignment.userId === guid) this.removeRoleAssignment(key, assignment);
    }
    for (const [key, assignment] of this.groupAssignments) {
      if (assignment.userId === guid) this.groupAssignments.delete(key);
    }
  }

  private user(guid: string): CwUser {
    const user = this.users.get(guid);
    if (user === undefined) throw new SimulatorError(404, 'User not found');
    return user;
  }

  private assertEmailFree(email: string, self?: CwUser): void {
    // [public] The email is the login: unique over all users, staff and contacts, in any case.
    const other = this.emails.get(folded(email));
    if (other !== undefined && other !== self) {
      throw new SimulatorError(409, 'A user with this email address already exists');
    }
  }

  // ----- roles, groups and assignments ---------------------------------------------------------

  listRoles(query: ListQuery): CwRole[] {
    return page(this.roles, query, roleFields);
  }

  listGroups(query: ListQuery): CwGroup[] {
    return page(this.groups, query, roleFields);
  }

  listRoleAssignments(entityGuid: string, query: ListQuery): { userId: string; roleId: string }[] {
    this.entity(entityGuid);
    const assignments = this.entityRoleAssignments.get(entityGuid)?.values() ?? [];
    return page(assignments, query, { userId: text, roleId: text }).map(({ userId, roleId }) => ({ userId, roleId }));
  }

  /** [assumed] Every entity's role assignments, in the order they were made. */
  listAllRoleAssignments(query: ListQuery): StoredRoleAssignment[] {
    return page(this.roleAssignments.values(), query, { entityId: text, userId: text, roleId: text });
  }

  /** Idempotent: sharing twice or unsharing what is not shared changes nothing. */
  patchRoleAssignments(entityGuid: string, body: unknown): void {
    this.entity(entityGuid);
    const { userIds, roleId, isRemove } = parseBody(cwRoleAssignmentPatchBodySchema, body);
    // [assumed] An unknown role is a bad request; an unknown user is not found.
    if (!this.roles.some((role) => role.CWGuid === roleId)) throw new SimulatorError(400, 'roleId does not name a role');
    for (const userId of userIds) this.user(userId);
    for (const userId of new Set(userIds)) {
      const assignment: StoredRoleAssignment = { entityId: entityGuid, userId, roleId };
      const key = roleAssignmentKey(assignment);
      const existing = this.roleAssignments.get(key);
      if (isRemove && existing !== undefined) this.removeRoleAssignment(key, existing);
      if (!isRemove && existing === undefined) this.addRoleAssignment(assignment);
    }
  }

  /** Idempotent. */
  private addRoleAssignment(assignment: StoredRoleAssignment): void {
    const key = roleAssignmentKey(assignment);
    if (this.roleAssignments.has(key)) return;
    this.roleAssignments.set(key, assignment);
    const ofEntity = this.entityRoleAssignments.get(assignment.entityId) ?? new Map<string, StoredRoleAssignment>();
    ofEntity.set(key, assignment);
    this.entityRoleAssignments.set(assignment.entityId, ofEntity);
  }

  private removeRoleAssignment(key: string, assignment: StoredRoleAssignment): void {
    this.roleAssignments.delete(key);
    const ofEntity = this.entityRoleAssignments.get(assignment.entityId);
    ofEntity?.delete(key);
    if (ofEntity?.size === 0) this.entityRoleAssignments.delete(assignment.entityId);
  }

  /** The names of the roles `userId` holds on the entity (file requests check who may answer). */
  roleNamesOn(entityGuid: string, userId: string): string[] {
    const assignments = [...(this.entityRoleAssignments.get(entityGuid)?.values() ?? [])].filter((a) => a.userId === userId);
    return assignments.map((a) => this.roles.find((role) => role.CWGuid === a.roleId)?.Name ?? '').filter((name) => name !== '');
  }

  listGroupMembers(groupGuid: string, query: ListQuery): { userId: string }[] {
    this.group(groupGuid);
    const members = filtered(this.groupAssignments.values(), (assignment) => assignment.groupId === groupGuid);
    return page(members, query, { userId: text }).map(({ userId }) => ({ userId }));
  }

  /** Idempotent, like role assignments. */
  patchGroupAssignments(groupGuid: string, body: unknown): void {
    this.group(groupGuid);
    const { people, isRemove } = parseBody(cwGroupAssignmentPatchBodySchema, body);
    for (const userId of people) this.user(userId);
    for (const userId of new Set(people)) {
      const assignment: StoredGroupAssignment = { groupId: groupGuid, userId };
      const key = groupAssignmentKey(assignment);
      if (isRemove) this.groupAssignments.delete(key);
      else if (!this.groupAssignments.has(key)) this.groupAssignments.set(key, assignment);
    }
  }

  private group(guid: string): CwGroup {
    const group = this.groups.find((candidate) => candidate.CWGuid === guid);
    if (group === undefined) throw new SimulatorError(404, 'Group not found');
    return group;
  }
}

/**
 * Filters with `search`, then cuts out page `page` of `pageSize` items: one pass over `items` that
 * stops at the page's end, copying only the page.
 */
export function page<T extends object>(items: Iterable<T>, query: ListQuery, fields: SearchableFields): T[] {
  const pageNumber = integerParameter('page', query.page, CW_FIRST_PAGE);
  const pageSize = Math.min(integerParameter('pageSize', query.pageSize, CW_DEFAULT_PAGE_SIZE), CW_MAX_PAGE_SIZE);
  if (pageNumber < CW_FIRST_PAGE) throw new SimulatorError(400, `page starts at ${CW_FIRST_PAGE}`);
  if (pageSize < 1) throw new SimulatorError(400, 'pageSize must be at least 1');
  let selected = items;
  if (query.search !== undefined) {
    if (typeof query.search !== 'string') throw new SimulatorError(400, 'search may be given once');
    const filter = parseSearch(query.search, fields);
    selected = filtered(items, (item) => matchesSearch(item, filter));
  }
  let skip = (pageNumber - CW_FIRST_PAGE) * pageSize;
  const cut: T[] = [];
  for (const item of selected) {
    if (skip > 0) {
      skip -= 1;
      continue;
    }
    cut.push(item);
    if (cut.length === pageSize) break;
  }
  return structuredClone(cut);
}

function* filtered<T>(items: Iterable<T>, keep: (item: T) => boolean): Iterable<T> {
  for (const item of items) if (keep(item)) yield item;
}

function integerParameter(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^-?\d+$/.test(value)) throw new SimulatorError(400, `${name} must be a whole number`);
  return Number(value);
}
