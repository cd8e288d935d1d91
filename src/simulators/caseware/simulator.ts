import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { cwTokenRequestSchema, type CwErrorBody } from '../../portals/caseware/api';
import { SimulatorError } from './errors';
import { FileRequestStore, fileRequestRoutes } from './file-requests';
import { CaseWareStore, type ListQuery } from './store';
import { pathOf, SimulatorServer, thrownStatus } from '../server';

// A faithful HTTP simulator of CaseWare Cloud API v2 (see docs: portals.md), for tests, the local
// stack and benchmarks. The API lives under `/{firm}/ms/caseware-cloud/api/v2`; test and demo
// hooks live under `/_sim` at the origin root and are neither rate-limited, faulted nor guarded.

export type { SimulatorState, SimulatedMail } from './store';
export type { FileRequestSimState, SimulatedFileRequest, FileRequestMail } from './file-requests';
export { mulberry32 } from './faults';

export interface CaseWareSimulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  firm?: string;
  clientId?: string;
  clientSecret?: string;
  /** [public] 30 minutes. */
  tokenTtlMs?: number;
  rateLimit?: { burst: number; replenishPerSecond: number };
  contactRoles?: string[];
  groups?: string[];
  /** Keep every API request's body at `GET /_sim/requests` (tests of what the service sends). */
  recordRequests?: boolean;
  logger?: boolean;
}

export interface CaseWareSimulator {
  origin: string;
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  close(): Promise<void>;
}

/** A load of a few thousand clients at once is some megabytes of JSON. */
const simLoadBodyLimit = 256 * 1024 * 1024;

function errorBody(messages: string[]): CwErrorBody {
  return { errors: messages.map((message) => ({ message })) };
}

type Guid = { Params: { guid: string } };
const query = (request: FastifyRequest): ListQuery => request.query as ListQuery;
/** Bearer tokens handed out, with when each expires (ms since the epoch). */
type Tokens = Map<string, number>;

interface ApiPaths {
  apiPath: string;
  tokenPath: string;
  isApi: (request: FastifyRequest) => boolean;
}

/** Counting, recording, faults, the rate limit and scripted answers: what the API calls meet before a route. */
function addApiConditions(server: SimulatorServer, paths: ApiPaths, recordRequests: boolean | undefined): void {
  const { apiPath, tokenPath, isApi } = paths;
  const { bucket } = server;
  const rateLimitHeaders = (reply: FastifyReply, remaining: number): void => {
    reply.headers({
      'x-ratelimit-burst-capacity': String(bucket.burst),
      'x-ratelimit-remaining': String(remaining),
      'x-ratelimit-replenish-rate': String(bucket.replenishPerSecond),
    });
  };

  // Counted before any fault meets them; the token request is counted too (`POST /auth/token`).
  server.addCallCounter({ counted: isApi, apiRoot: apiPath });
  if (recordRequests) server.addRequestRecorder({ recorded: isApi, apiRoot: apiPath });

  // The token endpoint is spared, so that a fault plan describes what the API calls meet.
  server.addFaultHook({
    faulted: (request) => isApi(request) && pathOf(request) !== tokenPath,
    unavailableBody: errorBody(['The service is temporarily unavailable']),
    rateLimitedBody: errorBody(['Too many requests']),
    onRateLimited: (reply) => rateLimitHeaders(reply, 0),
  });

  server.addRateLimitHook({
    limited: isApi,
    onTake: rateLimitHeaders,
    refuse: (reply) => void reply.code(429).send(errorBody(['Rate limit exceeded'])),
  });

  // The token request can be scripted too (e.g. a refused secret).
  server.addScriptHook({
    scripted: isApi,
    apiRoot: apiPath,
    errorBody: (status) => errorBody([status === 401 ? 'Authorization has been denied for this request' : 'Scripted failure']),
    invalidScript: (messages) => new SimulatorError(400, messages),
  });
}

/** Every API call but the token request needs a bearer token that has not expired; errors answer as CaseWare's do. */
function guardApi(app: FastifyInstance, paths: ApiPaths, tokens: Tokens): void {
  app.addHook('onRequest', (request, reply, done) => {
    if (!paths.isApi(request) || pathOf(request) === paths.tokenPath) {
      done();
      return;
    }
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const expiresAt = token === undefined ? undefined : tokens.get(token);
    if (expiresAt === undefined || expiresAt <= Date.now()) {
      if (token !== undefined) tokens.delete(token);
      void reply.code(401).send(errorBody(['Authorization has been denied for this request']));
      return;
    }
    done();
  });

  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof SimulatorError) return reply.code(error.status).send(errorBody(error.messages));
    const status = thrownStatus(error);
    const message = status < 500 && error instanceof Error ? error.message : 'An internal error occurred';
    return reply.code(status).send(errorBody([message]));
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send(errorBody(['Resource not found'])));
}

function tokenRoute(app: FastifyInstance, tokenPath: string, credentials: { clientId: string; clientSecret: string; tokenTtlMs: number }, tokens: Tokens): void {
  app.post(tokenPath, (request, reply) => {
    const parsed = cwTokenRequestSchema.safeParse(request.body);
    if (!parsed.success) throw new SimulatorError(400, 'ClientId, ClientSecret and Language are required');
    if (parsed.data.ClientId !== credentials.clientId || parsed.data.ClientSecret !== credentials.clientSecret) {
      throw new SimulatorError(401, 'Invalid client credentials');
    }
    const token = randomBytes(24).toString('base64url');
    tokens.set(token, Date.now() + credentials.tokenTtlMs);
    return reply.send({ Token: token });
  });
}

/** Entities and their role assignments. */
function entityRoutes(app: FastifyInstance, apiPath: string, store: CaseWareStore): void {
  app.get(`${apiPath}/entities`, (request, reply) => reply.send(store.listEntities(query(request))));
  // [assumed] Creating answers 201 with the new object.
  app.post(`${apiPath}/entities`, (request, reply) => reply.code(201).send(store.createEntity(request.body)));
  app.get<Guid>(`${apiPath}/entities/:guid`, (request, reply) => reply.send(store.getEntity(request.params.guid)));
  app.patch<Guid>(`${apiPath}/entities/:guid`, (request, reply) =>
    reply.send(store.patchEntity(request.params.guid, request.body)),
  );
  // [assumed] Deleting answers 204; the entity's role assignments go with it.
  app.delete<Guid>(`${apiPath}/entities/:guid`, (request, reply) => {
    store.deleteEntity(request.params.guid);
    return reply.code(204).send();
  });
  app.get<Guid>(`${apiPath}/entities/:guid/role-assignments`, (request, reply) =>
    reply.send(store.listRoleAssignments(request.params.guid, query(request))),
  );
  // [assumed] Changing assignments answers 204.
  app.patch<Guid>(`${apiPath}/entities/:guid/role-assignments`, (request, reply) => {
    store.patchRoleAssignments(request.params.guid, request.body);
    return reply.code(204).send();
  });

  // [assumed] Every entity's role assignments in one paged list (see cwFirmRoleAssignmentSchema).
  app.get(`${apiPath}/role-assignments`, (request, reply) => reply.send(store.listAllRoleAssignments(query(request))));
}

function userRoutes(app: FastifyInstance, apiPath: string, store: CaseWareStore): void {
  app.get(`${apiPath}/users`, (request, reply) => reply.send(store.listUsers(query(request))));
  app.post(`${apiPath}/users`, (request, reply) => reply.code(201).send(store.createUser(request.body)));
  app.get<Guid>(`${apiPath}/users/:guid`, (request, reply) => reply.send(store.getUser(request.params.guid)));
  app.patch<Guid>(`${apiPath}/users/:guid`, (request, reply) =>
    reply.send(store.patchUser(request.params.guid, request.body)),
  );
  app.delete<Guid>(`${apiPath}/users/:guid`, (request, reply) => {
    store.deleteUser(request.params.guid);
    return reply.code(204).send();
  });
}

/** Roles, groups and the groups' members. */
function roleAndGroupRoutes(app: FastifyInstance, apiPath: string, store: CaseWareStore): void {
  app.get(`${apiPath}/roles`, (request, reply) => reply.send(store.listRoles(query(request))));
  app.get(`${apiPath}/groups`, (request, reply) => reply.send(store.listGroups(query(request))));
  app.get<Guid>(`${apiPath}/groups/:guid/user-assignments`, (request, reply) =>
    reply.send(store.listGroupMembers(request.params.guid, query(request))),
  );
  app.patch<Guid>(`${apiPath}/groups/:guid/user-assignments`, (request, reply) => {
    store.patchGroupAssignments(request.params.guid, request.body);
    return reply.code(204).send();
  });
}

/** The test and demo hooks under /_sim. */
function simRoutes(server: SimulatorServer, store: CaseWareStore, fileRequests: FileRequestStore, tokens: Tokens): void {
  server.addSimHooks({
    state: () => store.state(),
    invalidFaults: (messages) => new SimulatorError(400, messages),
    expireTokens: () => tokens.clear(),
    reset: () => {
      store.reset();
      fileRequests.reset();
      tokens.clear();
    },
  });

  // Seeding a large firm at once (benchmarks, demos), and reading records back without spending
  // the rate limit or showing in /_sim/calls.
  server.app.post('/_sim/load', { bodyLimit: simLoadBodyLimit }, (request, reply) => reply.send(store.load(request.body)));
  server.app.post('/_sim/lookup', { bodyLimit: simLoadBodyLimit }, (request, reply) => reply.send(store.lookup(request.body)));
}

export async function startCaseWareSimulator(options: CaseWareSimulatorOptions = {}): Promise<CaseWareSimulator> {
  const host = options.host ?? '127.0.0.1';
  const firm = options.firm ?? 'demo';
  const clientId = options.clientId ?? 'sim-client';
  const clientSecret = options.clientSecret ?? 'sim-secret';
  const apiPath = `/${encodeURIComponent(firm)}/ms/caseware-cloud/api/v2`;
  const paths: ApiPaths = { apiPath, tokenPath: `${apiPath}/auth/token`, isApi: (request) => pathOf(request).startsWith(`${apiPath}/`) };

  const store = new CaseWareStore({
    contactRoles: options.contactRoles ?? ['Contact - Entity Access', 'Contact - Entity Staff'],
    groups: options.groups ?? ['Clients'],
  });
  const fileRequests = new FileRequestStore(store);
  const tokens: Tokens = new Map();
  const server = new SimulatorServer({ rateLimit: options.rateLimit ?? { burst: 200, replenishPerSecond: 100 }, logger: options.logger });
  const { app } = server;

  addApiConditions(server, paths, options.recordRequests);
  guardApi(app, paths, tokens);

  tokenRoute(app, paths.tokenPath, { clientId, clientSecret, tokenTtlMs: options.tokenTtlMs ?? 30 * 60_000 }, tokens);
  entityRoutes(app, apiPath, store);
  userRoutes(app, apiPath, store);
  roleAndGroupRoutes(app, apiPath, store);
  fileRequestRoutes(app, apiPath, fileRequests);

  simRoutes(server, store, fileRequests, tokens);

  const origin = await server.listen(options.port ?? 0, host);

  return {
    origin,
    baseUrl: `${origin}${apiPath}`,
    clientId,
    clientSecret,
    close: () => server.close(),
  };
}
