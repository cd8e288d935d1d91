import { z } from 'zod';
import {
  defaultMaxRateLimitWaitMs,
  discardBody,
  readValidated,
  sendJson,
  sendWaitingOutRateLimits,
  type JsonRequest,
  type PortalCallCounter,
  type Query,
  type RateLimitBudget,
  type RequestGate,
} from '../http';
import {
  CW_FIRST_PAGE,
  CW_MAX_PAGE_SIZE,
  cwEntitySchema,
  cwFirmRoleAssignmentSchema,
  cwGroupMemberSchema,
  cwGroupSchema,
  cwRoleAssignmentSchema,
  cwRoleSchema,
  cwSearch,
  cwTokenResponseSchema,
  cwUserSchema,
  type CwContactFields,
  type CwEntity,
  type CwEntityCreateBody,
  type CwEntityFields,
  type CwEntityPatchBody,
  type CwFirmRoleAssignment,
  type CwGroup,
  type CwGroupAssignmentPatchBody,
  type CwOwnerType,
  type CwRole,
  type CwRoleAssignment,
  type CwRoleAssignmentPatchBody,
  type CwTokenRequest,
  type CwUser,
  type CwUserCreateBody,
  type CwUserPatchBody,
} from './api';
import { caseWareErrors, caseWareHttpError, CaseWareError, conflictOn, type CaseWareConflict } from './errors';
import {
  cwFileRequestSchema,
  type CwFileRequest,
  type CwFileRequestCreateBody,
  type CwFileRequestPatchBody,
} from './file-request-api';

export type {
  CwContactFields,
  CwEntity,
  CwEntityFields,
  CwFirmRoleAssignment,
  CwGroup,
  CwRole,
  CwRoleAssignment,
  CwUser,
} from './api';
export { CaseWareError, type CaseWareErrorCode } from './errors';
export type { CwFileRequest, CwFileRequestCreateBody } from './file-request-api';
export type { PortalCallCounter } from '../http';

export interface CaseWareClientOptions {
  /** Ends with `.../{firm}/ms/caseware-cloud/api/v2`. */
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  /** Per HTTP request, token requests included. Default 10 000 ms. */
  requestTimeoutMs?: number;
  /** Page size for lists. Default (and the service's maximum): 100. */
  pageSize?: number;
  /**
   * The most one call waits in all for the rate limit (429 answers) before it throws the
   * rate-limited error. Default 60 000 ms; 0 never waits.
   */
  maxRateLimitWaitMs?: number;
  /** Paces every request, across the fleet (src/sync/rate-gate.ts); none: sent at once. */
  gate?: RequestGate;
}

interface RequestSpec<T> extends JsonRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Schema of the answer; undefined when the answer carries no body we use. */
  schema?: z.ZodType<T>;
  /** Answer undefined on 404 instead of throwing. */
  notFoundIsUndefined?: boolean;
}

// A list that never answers an empty page is a broken service; stop rather than loop forever.
const maxPages = 10_000;

/**
 * CaseWare Cloud API v2. Every failure is thrown as a CaseWareError. Two things are repeated here:
 * the one request that met an expired token (the auth protocol), and a request the rate limit
 * refused, after the wait the service asks for (up to `maxRateLimitWaitMs` per call; see
 * sendWaitingOutRateLimits). Everything else is retried by Temporal's activity retry policies,
 * using `retryable` and `retryAfterMs`.
 */
export class CaseWareClient {
  private readonly baseUrl: string;
  private readonly clientId: string;
  private readonly clientSecret: string;
  private readonly requestTimeoutMs: number;
  private readonly pageSize: number;
  private readonly maxRateLimitWaitMs: number;
  private readonly gate: RequestGate | undefined;
  /** The cached token, shared with every view (withSignal, withCallCounter). */
  private readonly session: { token: Promise<string> | undefined } = { token: undefined };
  /** Aborts this view's requests (see withSignal). */
  private readonly signal: AbortSignal | undefined;
  /** Counts this view's requests (see withCallCounter). */
  private readonly counter: PortalCallCounter | undefined;

  constructor(options: CaseWareClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.clientId = options.clientId;
    this.clientSecret = options.clientSecret;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.gate = options.gate;
    this.pageSize = Math.min(Math.max(1, Math.floor(options.pageSize ?? CW_MAX_PAGE_SIZE)), CW_MAX_PAGE_SIZE);
    this.maxRateLimitWaitMs = Math.max(0, options.maxRateLimitWaitMs ?? defaultMaxRateLimitWaitMs);
  }

  /**
   * A view of this client whose requests and rate-limit waits `signal` aborts besides their timeout
   * (an activity attempt Temporal has cancelled stops calling at once). It shares the token; the
   * token request itself is never aborted, since other callers may wait for it.
   */
  withSignal(signal: AbortSignal | undefined): CaseWareClient {
    if (signal === undefined) return this;
    return Object.create(this, { signal: { value: signal } }) as CaseWareClient;
  }

  /**
   * A view of this client that counts every API request it sends in `counter` (see
   * PortalCallCounter); the token request counts as neither read nor write. Views combine: a view
   * of a view keeps the other's signal or counter.
   */
  withCallCounter(counter: PortalCallCounter | undefined): CaseWareClient {
    if (counter === undefined) return this;
    return Object.create(this, { counter: { value: counter } }) as CaseWareClient;
  }

  // ----- entities ------------------------------------------------------------------------------

  async findEntityByNumber(entityNo: string): Promise<CwEntity | undefined> {
    // [assumed] The service compares strings case-insensitively; so do we, on what it answers.
    const wanted = entityNo.toLowerCase();
    return this.findUnique('/entities', cwEntitySchema, cwSearch('EntityNo', '=', entityNo), (entity) => entity.EntityNo.toLowerCase() === wanted);
  }

  getEntity(guid: string): Promise<CwEntity | undefined> {
    return this.request({ method: 'GET', path: `/entities/${segment(guid)}`, schema: cwEntitySchema, notFoundIsUndefined: true });
  }

  async createEntity(fields: CwEntityFields): Promise<CwEntity> {
    const body: CwEntityCreateBody = fields;
    return this.required({ method: 'POST', path: '/entities', body, schema: cwEntitySchema });
  }

  async updateEntity(guid: string, fields: Partial<CwEntityFields>): Promise<CwEntity> {
    const body: CwEntityPatchBody = fields;
    return this.required({ method: 'PATCH', path: `/entities/${segment(guid)}`, body, schema: cwEntitySchema });
  }

  /** Every entity of the firm, page by page: one read per page instead of one per client. */
  listEntities(): Promise<CwEntity[]> {
    return this.list('/entities', cwEntitySchema);
  }

  /**
   * Deletes the entity and every role assignment on it, as a person in the portal may; an unknown
   * CWGuid throws not-found. [assumed] endpoint.
   */
  async deleteEntity(guid: string): Promise<void> {
    await this.request({ method: 'DELETE', path: `/entities/${segment(guid)}` });
  }

  // ----- users ---------------------------------------------------------------------------------

  async findUserByEmail(email: string): Promise<CwUser | undefined> {
    const wanted = email.toLowerCase();
    return this.findUnique('/users', cwUserSchema, cwSearch('Email', '=', email), (user) => user.Email.toLowerCase() === wanted);
  }

  /** Every contact login (OwnerType Contact; no staff), page by page. */
  async listContactUsers(): Promise<CwUser[]> {
    const found = await this.list('/users', cwUserSchema, cwSearch('OwnerType', '=', 'Contact'));
    // As findUserByEmail: only what the answer shows to be a contact, whatever the service's filter did.
    return found.filter((user) => user.OwnerType.toLowerCase() === 'contact');
  }

  getUser(guid: string): Promise<CwUser | undefined> {
    return this.request({ method: 'GET', path: `/users/${segment(guid)}`, schema: cwUserSchema, notFoundIsUndefined: true });
  }

  /** Creates a contact login; CaseWare Cloud mails it its credentials. */
  async createContact(fields: CwContactFields): Promise<CwUser> {
    const body: CwUserCreateBody = { OwnerType: 'Contact', ...fields };
    return this.required({ method: 'POST', path: '/users', body, schema: cwUserSchema });
  }

  async updateContact(guid: string, fields: Partial<CwContactFields>): Promise<CwUser> {
    const body: CwUserPatchBody = { ...fields, OwnerType: 'Contact' };
    return this.required({ method: 'PATCH', path: `/users/${segment(guid)}`, body, schema: cwUserSchema });
  }

  /** Blocks the login from `date` (yyyy-MM-dd) on; the user and its history stay. */
  async deactivateUser(guid: string, date: string, ownerType: CwOwnerType = 'Contact'): Promise<CwUser> {
    const body: CwUserPatchBody = { OwnerType: ownerType, Type: 'I', InActiveDate: date };
    return this.required({ method: 'PATCH', path: `/users/${segment(guid)}`, body, schema: cwUserSchema });
  }

  async reactivateUser(guid: string, ownerType: CwOwnerType = 'Contact'): Promise<CwUser> {
    const body: CwUserPatchBody = { OwnerType: ownerType, Type: 'A', InActiveDate: null };
    return this.required({ method: 'PATCH', path: `/users/${segment(guid)}`, body, schema: cwUserSchema });
  }

  // ----- roles and groups ----------------------------------------------------------------------

  listRoles(): Promise<CwRole[]> {
    return this.list('/roles', cwRoleSchema);
  }

  async findRoleByName(name: string): Promise<CwRole | undefined> {
    return (await this.listRoles()).find((role) => role.Name === name);
  }

  listGroups(): Promise<CwGroup[]> {
    return this.list('/groups', cwGroupSchema);
  }

  async findGroupByName(name: string): Promise<CwGroup | undefined> {
    return (await this.listGroups()).find((group) => group.Name === name);
  }

  /** CWGuids of the group's members. [assumed] endpoint. */
  async listGroupMembers(groupGuid: string): Promise<string[]> {
    const members = await this.list(`/groups/${segment(groupGuid)}/user-assignments`, cwGroupMemberSchema);
    return members.map((member) => member.userId);
  }

  async setGroupMembership(groupGuid: string, userId: string, member: boolean): Promise<void> {
    const body: CwGroupAssignmentPatchBody = { people: [userId], isRemove: !member };
    await this.request({ method: 'PATCH', path: `/groups/${segment(groupGuid)}/user-assignments`, body });
  }

  // ----- sharing entities with contacts --------------------------------------------------------

  async listEntityRoleAssignments(entityGuid: string): Promise<CwRoleAssignment[]> {
    const assignments = await this.list(`/entities/${segment(entityGuid)}/role-assignments`, cwRoleAssignmentSchema);
    return assignments.map(({ userId, roleId }) => ({ userId, roleId }));
  }

  /**
   * Every entity's role assignments, page by page: one read per page instead of one per entity.
   * [assumed] endpoint (see cwFirmRoleAssignmentSchema).
   */
  listAllRoleAssignments(): Promise<CwFirmRoleAssignment[]> {
    return this.list('/role-assignments', cwFirmRoleAssignmentSchema);
  }

  async shareEntity(entityGuid: string, userIds: string[], roleId: string): Promise<void> {
    await this.patchRoleAssignments(entityGuid, { userIds, roleId, isRemove: false });
  }

  async unshareEntity(entityGuid: string, userIds: string[], roleId: string): Promise<void> {
    await this.patchRoleAssignments(entityGuid, { userIds, roleId, isRemove: true });
  }

  private async patchRoleAssignments(entityGuid: string, body: CwRoleAssignmentPatchBody): Promise<void> {
    if (body.userIds.length === 0) return;
    await this.request({ method: 'PATCH', path: `/entities/${segment(entityGuid)}/role-assignments`, body });
  }

  // ----- file requests (seed article 003; every path and shape [assumed]) --------------------

  async findFileRequestByRef(externalRef: string): Promise<CwFileRequest | undefined> {
    const found = await this.list('/file-requests', cwFileRequestSchema, cwSearch('ExternalRef', '=', externalRef));
    return found.find((request) => request.ExternalRef === externalRef);
  }

  /**
   * Creates the request, or finds the one an earlier attempt created with the same `ExternalRef`
   * (the answer to that attempt was lost): one request per reference, however often it is asked.
   */
  async createFileRequest(body: CwFileRequestCreateBody): Promise<CwFileRequest> {
    const existing = await this.findFileRequestByRef(body.ExternalRef);
    if (existing) return existing;
    try {
      return await this.required({ method: 'POST', path: '/file-requests', body, schema: cwFileRequestSchema });
    } catch (error) {
      // Created meanwhile (an attempt whose answer came late): that one is ours.
      if (error instanceof CaseWareError && error.status === 409) {
        const created = await this.findFileRequestByRef(body.ExternalRef);
        if (created) return created;
      }
      throw error;
    }
  }

  getFileRequest(guid: string): Promise<CwFileRequest | undefined> {
    return this.request({ method: 'GET', path: `/file-requests/${segment(guid)}`, schema: cwFileRequestSchema, notFoundIsUndefined: true });
  }

  async setFileRequestRecipients(guid: string, recipients: string[]): Promise<CwFileRequest> {
    const body: CwFileRequestPatchBody = { Recipients: recipients };
    return this.required({ method: 'PATCH', path: `/file-requests/${segment(guid)}`, body, schema: cwFileRequestSchema });
  }

  async cancelFileRequest(guid: string): Promise<CwFileRequest> {
    const body: CwFileRequestPatchBody = { Status: 'Cancelled' };
    return this.required({ method: 'PATCH', path: `/file-requests/${segment(guid)}`, body, schema: cwFileRequestSchema });
  }

  /** Mails the recipients again. */
  async remindFileRequest(guid: string): Promise<void> {
    await this.request({ method: 'POST', path: `/file-requests/${segment(guid)}/reminders` });
  }

  // ----- transport -----------------------------------------------------------------------------

  /** Reads every page of a list: pages until the service answers an empty array. */
  private async list<T>(path: string, item: z.ZodType<T>, search?: string): Promise<T[]> {
    const page = z.array(item);
    const all: T[] = [];
    // One call: the pages share what it may wait for the rate limit.
    const budget = this.rateLimitBudget();
    for (let number = CW_FIRST_PAGE; number < CW_FIRST_PAGE + maxPages; number += 1) {
      const query: Query = { page: number, pageSize: this.pageSize };
      if (search !== undefined) query.search = search;
      const items = await this.required({ method: 'GET', path, query, schema: page }, budget);
      if (items.length === 0) return all;
      all.push(...items);
    }
    throw caseWareErrors.badResponse({ method: 'GET', path }, 200, `more than ${maxPages} pages`);
  }

  /**
   * The one item of a search on a unique value (an entity number, an email) that `matches`: the
   * pages stop at the first match, since no second one can exist; without one, at the empty page
   * that ends the list. Found, it costs one call instead of two.
   */
  private async findUnique<T>(path: string, item: z.ZodType<T>, search: string, matches: (item: T) => boolean): Promise<T | undefined> {
    const page = z.array(item);
    const budget = this.rateLimitBudget();
    for (let number = CW_FIRST_PAGE; number < CW_FIRST_PAGE + maxPages; number += 1) {
      const items = await this.required({ method: 'GET', path, query: { page: number, pageSize: this.pageSize, search }, schema: page }, budget);
      if (items.length === 0) return undefined;
      const found = items.find(matches);
      if (found !== undefined) return found;
    }
    throw caseWareErrors.badResponse({ method: 'GET', path }, 200, `more than ${maxPages} pages`);
  }

  private async required<T>(spec: RequestSpec<T>, budget?: RateLimitBudget): Promise<T> {
    const answer = await this.request(spec, budget);
    if (answer === undefined) throw caseWareErrors.badResponse(spec, 200, 'empty answer');
    return answer;
  }

  private async request<T>(spec: RequestSpec<T>, budget = this.rateLimitBudget()): Promise<T | undefined> {
    const response = await sendWaitingOutRateLimits(spec, caseWareErrors, budget, this.signal, () => this.sendAuthorized(spec));
    return this.read(spec, response, { conflict: conflictOn(spec.path) });
  }

  private rateLimitBudget(): RateLimitBudget {
    return { leftMs: this.maxRateLimitWaitMs };
  }

  /** Sends with the current token, fetching one first when there is none. */
  private async sendAuthorized(spec: RequestSpec<unknown>): Promise<Response> {
    const token = await this.currentToken();
    const response = await this.send(spec, token);
    if (response.status !== 401) return response;
    // The auth protocol, not a retry: a token expired; fetch a new one and redo this request once.
    await discardBody(response);
    return this.send(spec, await this.renewToken(token));
  }

  private async read<T>(
    spec: RequestSpec<T>,
    response: Response,
    context: { conflict: CaseWareConflict },
  ): Promise<T | undefined> {
    if (!response.ok) {
      await discardBody(response);
      if (response.status === 404 && spec.notFoundIsUndefined) return undefined;
      throw caseWareHttpError(spec, response.status, response.headers, context);
    }
    return readValidated(caseWareErrors, spec, response, spec.schema);
  }

  private send(spec: RequestSpec<unknown>, token: string | undefined): Promise<Response> {
    const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
    // The token request is shared by concurrent callers: only an API call carries a view's signal
    // and counter.
    const request = token === undefined ? spec : { ...spec, signal: this.signal, counter: this.counter };
    return sendJson({ portal: 'caseware', baseUrl: this.baseUrl, headers, timeoutMs: this.requestTimeoutMs, errors: caseWareErrors, gate: this.gate }, request);
  }

  // ----- token ---------------------------------------------------------------------------------

  /** The cached token; concurrent callers share one token request. */
  private currentToken(): Promise<string> {
    this.session.token ??= this.fetchToken();
    return this.session.token;
  }

  /** A new token, unless another caller has renewed the expired one already. */
  private async renewToken(expired: string): Promise<string> {
    const current = this.session.token === undefined ? undefined : await this.session.token.catch(() => undefined);
    if (current === undefined || current === expired) this.session.token = undefined;
    return this.currentToken();
  }

  private fetchToken(): Promise<string> {
    const spec: RequestSpec<z.infer<typeof cwTokenResponseSchema>> = {
      method: 'POST',
      path: '/auth/token',
      body: { ClientId: this.clientId, ClientSecret: this.clientSecret, Language: 'en' } satisfies CwTokenRequest,
      schema: cwTokenResponseSchema,
    };
    const pending = (async () => {
      const response = await this.send(spec, undefined);
      if (response.status === 400 || response.status === 401 || response.status === 403) {
        await discardBody(response);
        throw caseWareErrors.refusedService(spec, response.status, 'unauthorized');
      }
      const answer = await this.read(spec, response, { conflict: 'other' });
      if (answer === undefined) throw caseWareErrors.badResponse(spec, response.status, 'empty answer');
      return answer.Token;
    })();
    // A failed token request is not cached: the next call (or the activity's retry) asks again.
    pending.catch(() => {
      if (this.session.token === pending) this.session.token = undefined;
    });
    return pending;
  }
}

/** A CWGuid as one path segment. */
function segment(value: string): string {
  return encodeURIComponent(value);
}
