import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
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

// The data of the simulated CaseWare Cloud firm and every rule the service enforces on it.

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

function same(left: string, right: string): boolean {
  return left.toLowerCase() === right.toLowerCase();
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
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
  private entities: CwEntity[] = [];
  private users: CwUser[] = [];
  private roles: CwRole[] = [];
  private groups: CwGroup[] = [];
  private roleAssignments: StoredRoleAssignment[] = [];
  private groupAssignments: StoredGroupAssignment[] = [];
  private mails: SimulatedMail[] = [];

  constructor(private readonly options: StoreOptions) {
    this.reset();
  }

  reset(): void {
    this.entities = [];
    this.users = [];
    this.roleAssignments = [];
    this.groupAssignments = [];
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
      entities: this.entities,
      users: this.users,
      roles: this.roles,
      groups: this.groups,
      roleAssignments: this.roleAssignments,
      groupAssignments: this.groupAssignments,
      mails: this.mails,
    });
  }

  // ----- entities ------------------------------------------------------------------------------

  listEntities(query: ListQuery): CwEntity[] {
    return page(this.entities, query, entityFields);
  }

  getEntity(guid: string): CwEntity {
    return structuredClone(this.entity(guid));
  }

  createEntity(body: unknown): CwEntity {
    const fields = parseBody(cwEntityCreateBodySchema, body);
    this.assertEntityNoFree(fields.EntityNo);
    const entity: CwEntity = {
      CWGuid: randomUUID(),
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
    this.entities.push(entity);
    return structuredClone(entity);
  }

  patchEntity(guid: string, body: unknown): CwEntity {
    const entity = this.entity(guid);
    const patch = parseBody(cwEntityPatchBodySchema, body);
    if (patch.EntityNo !== undefined) this.assertEntityNoFree(patch.EntityNo, entity);
    applyPatch(entity, patch);
    return structuredClone(entity);
  }

  private entity(guid: string): CwEntity {
    const entity = this.entities.find((candidate) => candidate.CWGuid === guid);
    if (entity === undefined) throw new SimulatorError(404, 'Entity not found');
    return entity;
  }

  private assertEntityNoFree(entityNo: string, self?: CwEntity): void {
    // [assumed] Entity numbers are unique, compared case-insensitively.
    if (this.entities.some((other) => other !== self && same(other.EntityNo, entityNo))) {
      throw new SimulatorError(409, 'An entity with this EntityNo already exists');
    }
  }

  // ----- users ---------------------------------------------------------------------------------

  listUsers(query: ListQuery): CwUser[] {
    return page(this.users, query, userFields);
  }

  getUser(guid: string): CwUser {
    return structuredClone(this.user(guid));
  }

  createUser(body: unknown): CwUser {
    const fields = parseBody(cwUserCreateBodySchema, body);
    this.assertEmailFree(fields.Email);
    const type = fields.Type ?? 'A';
    const inActiveDate = fields.InActiveDate ?? null;
    if (type === 'I' && inActiveDate === null) throw new SimulatorError(400, 'InActiveDate is required for an inactive user');
    const user: CwUser = {
      CWGuid: randomUUID(),
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
    this.users.push(user);
    // [public] Creating a contact makes CaseWare Cloud mail it login credentials.
    if (user.OwnerType === 'Contact') this.mails.push({ to: user.Email, kind: 'credentials', at: new Date().toISOString() });
    return structuredClone(user);
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
    applyPatch(user, patch);
    user.Type = type;
    user.InActiveDate = inActiveDate;
    return structuredClone(user);
  }

  deleteUser(guid: string): void {
    this.user(guid);
    this.users = this.users.filter((user) => user.CWGuid !== guid);
    this.roleAssignments = this.roleAssignments.filter((assignment) => assignment.userId !== guid);
    this.groupAssignments = this.groupAssignments.filter((assignment) => assignment.userId !== guid);
  }

  private user(guid: string): CwUser {
    const user = this.users.find((candidate) => candidate.CWGuid === guid);
    if (user === undefined) throw new SimulatorError(404, 'User not found');
    return user;
  }

  private assertEmailFree(email: string, self?: CwUser): void {
    // [public] The email is the login: unique over all users, staff and contacts, in any case.
    if (this.users.some((other) => other !== self && same(other.Email, email))) {
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
    const assignments = this.roleAssignments
      .filter((assignment) => assignment.entityId === entityGuid)
      .map(({ userId, roleId }) => ({ userId, roleId }));
    return page(assignments, query, { userId: text, roleId: text });
  }

  /** Idempotent: sharing twice or unsharing what is not shared changes nothing. */
  patchRoleAssignments(entityGuid: string, body: unknown): void {
    this.entity(entityGuid);
    const { userIds, roleId, isRemove } = parseBody(cwRoleAssignmentPatchBodySchema, body);
    // [assumed] An unknown role is a bad request; an unknown user is not found.
    if (!this.roles.some((role) => role.CWGuid === roleId)) throw new SimulatorError(400, 'roleId does not name a role');
    for (const userId of userIds) this.user(userId);
    for (const userId of new Set(userIds)) {
      const index = this.roleAssignments.findIndex(
        (assignment) => assignment.entityId === entityGuid && assignment.userId === userId && assignment.roleId === roleId,
      );
      if (isRemove && index !== -1) this.roleAssignments.splice(index, 1);
      if (!isRemove && index === -1) this.roleAssignments.push({ entityId: entityGuid, userId, roleId });
    }
  }

  listGroupMembers(groupGuid: string, query: ListQuery): { userId: string }[] {
    this.group(groupGuid);
    const members = this.groupAssignments
      .filter((assignment) => assignment.groupId === groupGuid)
      .map(({ userId }) => ({ userId }));
    return page(members, query, { userId: text });
  }

  /** Idempotent, like role assignments. */
  patchGroupAssignments(groupGuid: string, body: unknown): void {
    this.group(groupGuid);
    const { people, isRemove } = parseBody(cwGroupAssignmentPatchBodySchema, body);
    for (const userId of people) this.user(userId);
    for (const userId of new Set(people)) {
      const index = this.groupAssignments.findIndex(
        (assignment) => assignment.groupId === groupGuid && assignment.userId === userId,
      );
      if (isRemove && index !== -1) this.groupAssignments.splice(index, 1);
      if (!isRemove && index === -1) this.groupAssignments.push({ groupId: groupGuid, userId });
    }
  }

  private group(guid: string): CwGroup {
    const group = this.groups.find((candidate) => candidate.CWGuid === guid);
    if (group === undefined) throw new SimulatorError(404, 'Group not found');
    return group;
  }
}

/** Filters with `search`, then cuts out page `page` of `pageSize` items. */
function page<T extends object>(items: T[], query: ListQuery, fields: SearchableFields): T[] {
  const pageNumber = integerParameter('page', query.page, CW_FIRST_PAGE);
  const pageSize = Math.min(integerParameter('pageSize', query.pageSize, CW_DEFAULT_PAGE_SIZE), CW_MAX_PAGE_SIZE);
  if (pageNumber < CW_FIRST_PAGE) throw new SimulatorError(400, `page starts at ${CW_FIRST_PAGE}`);
  if (pageSize < 1) throw new SimulatorError(400, 'pageSize must be at least 1');
  let selected = items;
  if (query.search !== undefined) {
    if (typeof query.search !== 'string') throw new SimulatorError(400, 'search may be given once');
    const filter = parseSearch(query.search, fields);
    selected = items.filter((item) => matchesSearch(item, filter));
  }
  const start = (pageNumber - CW_FIRST_PAGE) * pageSize;
  return structuredClone(selected.slice(start, start + pageSize));
}

function integerParameter(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^-?\d+$/.test(value)) throw new SimulatorError(400, `${name} must be a whole number`);
  return Number(value);
}
