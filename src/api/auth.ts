import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler, onRequestHookHandler } from 'fastify';
import type { Db } from '../db';
import { errorBody } from './errors';
import { builtInTokenName, findActiveToken, noteTokenUse, roles, type Role } from './tokens';

// Who may do what (issue 12). Every route of the API has one entry in `routeAccess`, keyed by
// method and route pattern: the role it needs, or that it is public or checks a token of its own.
// One onRequest hook (accessControl, added in server.ts) applies the table to every request, before
// the body is read. A route without an entry is refused to every token, so a new route is closed
// until someone decides who may use it.

// Hashing both sides first gives equal-length buffers, so the comparison takes the same time
// whatever the presented token's length or content.
function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** The token of `Authorization: Bearer <token>`, if the header is one. */
export function presentedToken(request: FastifyRequest): string | undefined {
  return /^Bearer +(\S+) *$/i.exec(request.headers.authorization ?? '')?.[1];
}

// The same answer whatever was wrong (no header, another scheme, an unknown or a revoked token),
// so a caller learns nothing about which tokens exist.
export function refuseUnauthenticated(reply: FastifyReply): FastifyReply {
  return reply
    .code(401)
    .header('www-authenticate', 'Bearer')
    .send(errorBody('unauthorized', 'a valid bearer token is required: send "Authorization: Bearer <token>"'));
}

/** An onRequest hook that refuses requests without `Authorization: Bearer <apiToken>` (GET /metrics, the codec server). */
export function bearerAuth(apiToken: string): onRequestHookHandler {
  if (apiToken.length === 0) throw new Error('the API token is empty; set a long random token');
  const expected = digest(apiToken);

  return function requireBearerToken(request, reply, done) {
    const presented = presentedToken(request);
    if (presented !== undefined && timingSafeEqual(digest(presented), expected)) {
      done();
      return;
    }
    // Answering without calling done() ends the request here, before the body is even parsed.
    void refuseUnauthenticated(reply);
  };
}

// --- Roles and routes ---

/** What each role may use: a role's own routes, and every route that needs `viewer` (the reads). */
export function roleGrants(held: Role, required: Role): boolean {
  return held === required || required === 'viewer';
}

export type RouteAccess =
  | { role: Role }
  /** Any one of these roles. */
  | { roles: readonly Role[] }
  /** No token: /health, the OpenAPI document, the docs, the console's page and its files. */
  | 'public'
  /** The route checks a token of its own: GET /metrics (METRICS_TOKEN), the codec server (tokens by role, or its session: src/api/routes-codec.ts). */
  | 'checked-by-route';

const viewer = { role: 'viewer' } as const;
const registry = { role: 'registry' } as const;
const operator = { role: 'operator' } as const;
const admin = { role: 'admin' } as const;

/**
 * Every route, by `METHOD /pattern` as fastify registers it. HEAD goes by the GET entry. Reads are
 * `viewer`; the registry's writes (the firm's CRM integration) `registry`; offboarding, resyncs,
 * the reconcile and holding a portal `operator`; the tokens `admin`.
 */
export const routeAccess: Readonly<Record<string, RouteAccess>> = {
  'GET /health': 'public',
  'GET /openapi.json': 'public',
  'GET /docs': 'public',
  'GET /docs/': 'public',
  'GET /docs/json': 'public',
  'GET /docs/yaml': 'public',
  'GET /docs/static/*': 'public',
  'GET /docs/static/index.html': 'public',
  'GET /docs/static/swagger-initializer.js': 'public',
  'GET /console': 'public',
  'GET /console/': 'public',
  'GET /console/assets/*': 'public',
  'GET /console/vendor/:file': 'public',
  'GET /console/config': viewer,
  // Who the caller is: every token may ask about itself.
  'GET /me': viewer,

  'GET /metrics': 'checked-by-route',
  'OPTIONS /codec/encode': 'checked-by-route',
  'POST /codec/encode': 'checked-by-route',
  'OPTIONS /codec/decode': 'checked-by-route',
  'POST /codec/decode': 'checked-by-route',
  'GET /codec/session': 'checked-by-route',
  'POST /codec/session': 'checked-by-route',

  'POST /clients': registry,
  'GET /clients/:number': viewer,
  'PATCH /clients/:number': registry,
  'PUT /clients/:number/links': registry,
  'POST /clients/:number/contacts': registry,
  'GET /clients/:number/followers': viewer,
  'GET /contacts/:id': viewer,
  'PATCH /contacts/:id': registry,
  'DELETE /contacts/:id': registry,
  'PUT /contacts/:id/links': registry,
  'GET /contacts/:id/master': viewer,
  'PUT /contacts/:id/master': registry,
  'DELETE /contacts/:id/master': registry,
  'GET /contacts/:id/followers': viewer,
  'GET /contacts/:id/correspondence-emails': viewer,

  'GET /sync/errors': viewer,
  'GET /sync/clients/:number': viewer,
  'GET /sync/health': viewer,
  'POST /sync/clients/:number/resync': operator,
  'POST /sync/resync': operator,
  'GET /sync/clients/:number/kept-users': viewer,
  'DELETE /sync/clients/:number/kept-users': operator,
  // Holding a portal stops every write to it, for every client: the operator's.
  'PUT /sync/portals/:portal/hold': operator,
  'DELETE /sync/portals/:portal/hold': operator,
  // Letting held credentials mails go: the operator's, by two different tokens (src/sync/mail-guard.ts).
  'POST /sync/portals/:portal/approve-mails': operator,

  // A dry run too: planning an offboarding is the operator's work, and its answer is his plan.
  'POST /offboardings': operator,
  'GET /offboardings': viewer,
  'GET /offboardings/:id': viewer,
  'POST /offboardings/:id/approve': operator,
  'POST /offboardings/:id/cancel': operator,

  'POST /reconcile': operator,
  'GET /reconcile/runs': viewer,
  'GET /reconcile/runs/:id': viewer,
  'GET /reconcile/schedule': viewer,
  'PUT /reconcile/schedule': operator,

  // File requests (seed 003): asking a client's contacts for files is the operator's work.
  'GET /file-requests': viewer,
  'GET /file-requests/recipients': viewer,
  'GET /file-requests/:id': viewer,
  'POST /file-requests': operator,
  'POST /file-requests/:id/cancel': operator,

  // The tokens (issue 18): who may use the API is the admin's, reading the list too.
  'POST /tokens': admin,
  'GET /tokens': admin,
  'DELETE /tokens/:name': admin,
  // Who changed what: the operators' (who paused the reconcile, who held a portal) and the admin's.
  'GET /audit': { roles: ['operator', 'admin'] },
};

export function routeKey(method: string, url: string): string {
  return `${method === 'HEAD' ? 'GET' : method} ${url}`;
}

/** The roles of which a route needs one. */
export function rolesOf(access: { role: Role } | { roles: readonly Role[] }): readonly Role[] {
  return 'roles' in access ? access.roles : [access.role];
}

/** The table's entry for a route; undefined: nobody may use it. */
export function accessOf(method: string, url: string): RouteAccess | undefined {
  return Object.hasOwn(routeAccess, routeKey(method, url)) ? routeAccess[routeKey(method, url)] : undefined;
}

// --- Who is calling ---

/** The token a request was made with: its name (what offboarding records show) and its roles. */
export interface ApiCaller {
  name: string;
  roles: readonly Role[];
  /** The configured or generated API token (API_TOKEN, DATA_DIR/api-token): every role. */
  builtIn: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by accessControl on every route that needs a role; null on public routes. */
    caller: ApiCaller | null;
  }
}

/** The caller of a request that passed accessControl; for handlers of routes that need a role. */
export function callerOf(request: FastifyRequest): ApiCaller {
  if (!request.caller) throw new Error(`${request.method} ${request.routeOptions.url ?? request.url} has no caller: is it public in routeAccess?`);
  return request.caller;
}

/** The onRequest hook that applies routeAccess: 401 without a valid token, 403 without the role the route needs. */
export function accessControl(options: { db: Db; apiToken: string }): onRequestAsyncHookHandler {
  if (options.apiToken.length === 0) throw new Error('the API token is empty; set a long random token');
  const builtIn = digest(options.apiToken);
  const builtInCaller: ApiCaller = { name: builtInTokenName, roles, builtIn: true };

  const authenticate = async (presented: string | undefined): Promise<ApiCaller | undefined> => {
    if (presented === undefined) return undefined;
    if (timingSafeEqual(digest(presented), builtIn)) return builtInCaller;
    const token = await findActiveToken(options.db, presented);
    if (!token) return undefined;
    await noteTokenUse(options.db, token);
    return { name: token.name, roles: [token.role], builtIn: false };
  };

  return async function checkAccess(request, reply) {
    const url = request.routeOptions.url;
    // No route matched: the not-found handler answers, with nothing to protect.
    if (url === undefined) return;
    const access = accessOf(request.method, url);
    if (access === 'public' || access === 'checked-by-route') return;

    const caller = await authenticate(presentedToken(request));
    if (!caller) return refuseUnauthenticated(reply);
    request.caller = caller;
    // Every log line of the request, "request completed" too, says which token made it: its name, never its secret.
    request.log = request.log.child({ token: caller.name });
    reply.log = request.log;

    if (access === undefined) {
      request.log.error({ route: routeKey(request.method, url) }, 'a route without an entry in routeAccess (src/api/auth.ts) was refused');
      return reply
        .code(403)
        .send(errorBody('forbidden', `no role may use ${routeKey(request.method, url)} yet: the route has no entry in the role table (routeAccess in src/api/auth.ts)`));
    }
    const requiredRoles = rolesOf(access);
    if (!caller.roles.some((held) => requiredRoles.some((role) => roleGrants(held, role)))) {
      return reply
        .code(403)
        .send(errorBody('forbidden', `${routeKey(request.method, url)} needs the ${requiredRoles.join(' or ')} role; token "${caller.name}" has the ${caller.roles.join(', ')} role`));
    }
  };
}
