import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../db';
import { presentedToken, refuseUnauthenticated, roleGrants } from './auth';
import { errorBody, errorResponses } from './errors';
import type { ZodApp } from './zod-app';
import { builtInTokenName, findActiveToken, findActiveTokenById, noteTokenUse, roles, type Role } from './tokens';

// The codec server of the Temporal Web UI and CLI (https://docs.temporal.io/codec-server): with
// payload encryption on, Temporal holds only ciphertext, and whoever wants to read a workflow's
// inputs and results in the UI asks this service to decode them. Any API token may decode (a
// viewer reads everything the API shows, and payloads are ids and counts); encoding, which the UI
// does for what an operator sends a workflow, takes the operator role, as in `routeAccess`
// (src/api/auth.ts). The CLI sends the token as a header (`temporal ... --codec-auth "Bearer
// $TOKEN"`); a browser cannot add a header to the UI's requests, so one signs in once at
// /codec/session with a token and the browser then sends a session cookie (the UI must be
// configured to include credentials, and its origin allowed here for CORS). A session keeps the
// token's role, and ends when the token is revoked.

export interface CodecServerSettings {
  codec: PayloadCodec;
  /** The Temporal UI's origins (scheme, host, port) that may call the codec from a browser. */
  allowedOrigins: readonly string[];
}

/** A payload as the codec protocol sends it: protobuf JSON, bytes in base64. */
const payloadJsonSchema = z
  .looseObject({
    metadata: z.record(z.string(), z.string()).optional().describe('metadata values in base64'),
    data: z.string().optional().describe('base64'),
  })
  .meta({ id: 'CodecPayload' });
const payloadsJsonSchema = z.object({ payloads: z.array(payloadJsonSchema) }).meta({ id: 'CodecPayloads' });
type PayloadJson = z.infer<typeof payloadJsonSchema>;

const sessionCookie = 'portal_sync_codec';
const sessionSeconds = 8 * 60 * 60;
/** The token id a session of the built-in token carries; named tokens' ids start at 1. */
const builtInSessionId = 0;

/** Who may use the codec: the built-in token (every role) or a named one, by its id. */
interface CodecCaller {
  tokenId: number;
  name: string;
  roles: readonly Role[];
}

const builtInCaller: CodecCaller = { tokenId: builtInSessionId, name: builtInTokenName, roles };

/** The session cookie's value: when it ends, whose token, and a MAC over both with a key derived from the API token. */
function sessionMac(apiToken: string, expiresAt: number, tokenId: number): string {
  return createHmac('sha256', apiToken).update(`codec-session:${expiresAt}:${tokenId}`).digest('base64url');
}

function sessionValue(apiToken: string, tokenId: number, now = Date.now()): string {
  const expiresAt = Math.floor(now / 1000) + sessionSeconds;
  return `${expiresAt}.${tokenId}.${sessionMac(apiToken, expiresAt, tokenId)}`;
}

/** The token id of a valid, unexpired session; undefined otherwise. */
function sessionTokenId(apiToken: string, value: string | undefined, now = Date.now()): number | undefined {
  const match = /^(\d{1,12})\.(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(value ?? '');
  if (!match) return undefined;
  const expiresAt = Number(match[1]);
  const tokenId = Number(match[2]);
  if (expiresAt * 1000 <= now) return undefined;
  const expected = Buffer.from(sessionMac(apiToken, expiresAt, tokenId));
  const presented = Buffer.from(match[3] ?? '');
  return presented.length === expected.length && timingSafeEqual(presented, expected) ? tokenId : undefined;
}

function cookieOf(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at !== -1 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

/** Behind a TLS-terminating proxy the request arrives as http; the proxy says what the browser used. */
function overHttps(request: FastifyRequest): boolean {
  return request.protocol === 'https' || request.headers['x-forwarded-proto'] === 'https';
}

function toPayload(json: PayloadJson): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(json.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64')])),
    data: Buffer.from(json.data ?? '', 'base64'),
  };
}

function toJson(payload: Payload): PayloadJson {
  return {
    metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value).toString('base64')])),
    data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
  };
}

const signInPage = (message: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>portal-sync: decode payloads</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Decode Temporal payloads</h1>
<p>${message}</p>
<form method="post">
  <label>API token <input type="password" name="token" autocomplete="off" required></label>
  <button type="submit">Sign in</button>
</form>
</body></html>`;

const signedInPage = (until: Date) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>portal-sync: decode payloads</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Signed in</h1>
<p>This browser may decode payloads in the Temporal Web UI until ${until.toISOString()} (UTC).</p>
</body></html>`;

/** Who is calling: by a bearer token, or by a session cookie signed in with one. */
interface CodecCallers {
  /** The token presented (the built-in one, or a named one that is not revoked), with its id. */
  tokenCaller(presented: string | undefined): Promise<CodecCaller | undefined>;
  /** The session's token, looked up again on every request: a revoked token's session ends with it. */
  sessionCaller(request: FastifyRequest): Promise<CodecCaller | undefined>;
}

function codecCallers(db: Db, apiToken: string): CodecCallers {
  return {
    async tokenCaller(presented) {
      if (presented === undefined) return undefined;
      const compared = createHmac('sha256', 'compare').update(presented).digest();
      if (timingSafeEqual(compared, createHmac('sha256', 'compare').update(apiToken).digest())) return builtInCaller;
      const token = await findActiveToken(db, presented);
      if (!token) return undefined;
      await noteTokenUse(db, token);
      return { tokenId: token.id, name: token.name, roles: [token.role] };
    },
    async sessionCaller(request) {
      const tokenId = sessionTokenId(apiToken, cookieOf(request, sessionCookie));
      if (tokenId === undefined) return undefined;
      if (tokenId === builtInSessionId) return builtInCaller;
      const token = await findActiveTokenById(db, tokenId);
      return token && { tokenId: token.id, name: token.name, roles: [token.role] };
    },
  };
}

function requireRole(callers: CodecCallers, requiredRole: Role, route: string): onRequestAsyncHookHandler {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const caller = (await callers.sessionCaller(request)) ?? (await callers.tokenCaller(presentedToken(request)));
    if (!caller) return refuseUnauthenticated(reply);
    request.log = request.log.child({ token: caller.name });
    if (!caller.roles.some((held) => roleGrants(held, requiredRole))) {
      return reply.code(403).send(errorBody('forbidden', `${route} needs the ${requiredRole} role; token "${caller.name}" has the ${caller.roles.join(', ')} role`));
    }
  };
}

/** CORS for the UI's origins only; credentials allowed, for the session cookie. */
function allowUiOrigins(app: ZodApp, origins: readonly string[]): void {
  const allowed = new Set(origins);
  app.addHook('onRequest', (request, reply, next) => {
    const origin = request.headers.origin;
    if (origin !== undefined && allowed.has(origin)) {
      void reply
        .header('access-control-allow-origin', origin)
        .header('access-control-allow-credentials', 'true')
        .header('vary', 'Origin');
    }
    next();
  });
}

/** OPTIONS (the browser's preflight) and POST /codec/encode or /codec/decode. */
function registerPayloadRoute(app: ZodApp, operation: 'encode' | 'decode', codec: PayloadCodec, callers: CodecCallers): void {
  app.options(`/codec/${operation}`, { schema: { hide: true } }, (_request, reply) =>
    reply
      .code(204)
      .header('access-control-allow-methods', 'POST')
      .header('access-control-allow-headers', 'content-type, x-namespace, authorization')
      .header('access-control-max-age', '600')
      .send(),
  );

  app.post(
    `/codec/${operation}`,
    {
      onRequest: requireRole(callers, operation === 'encode' ? 'operator' : 'viewer', `POST /codec/${operation}`),
      bodyLimit: 16 * 1024 * 1024,
      schema: {
        tags: ['operations'],
        summary: operation === 'encode' ? 'Codec server: encrypt payloads (Temporal UI and CLI)' : 'Codec server: decrypt payloads (Temporal UI and CLI)',
        description:
          operation === 'encode'
            ? 'a token with the operator role as bearer token, or the session cookie of /codec/session signed in with one'
            : 'any API token as bearer token (a viewer may decode), or the session cookie of /codec/session',
        body: payloadsJsonSchema,
        response: { 200: payloadsJsonSchema, ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const payloads = request.body.payloads.map(toPayload);
      let converted: Payload[];
      try {
        converted = operation === 'encode' ? await codec.encode(payloads) : await codec.decode(payloads);
      } catch (error) {
        return reply.code(400).send(errorBody('invalid-request', error instanceof Error ? error.message : `the payloads could not be ${operation}d`));
      }
      return reply.code(200).send({ payloads: converted.map(toJson) });
    },
  );
}

/** GET and POST /codec/session: the browser's sign-in form, and the session cookie it earns. */
function registerSessionRoutes(app: ZodApp, apiToken: string, callers: CodecCallers): void {
  app.get('/codec/session', { schema: { hide: true } }, (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(signInPage('Sign in with your API token to let this browser decode payloads in the Temporal Web UI.')),
  );

  app.post(
    '/codec/session',
    { schema: { hide: true, body: z.object({ token: z.string() }) } },
    async (request, reply) => {
      const caller = await callers.tokenCaller(request.body.token);
      if (!caller) {
        return reply.code(401).type('text/html; charset=utf-8').send(signInPage('That is not a valid API token. Try again.'));
      }
      const value = sessionValue(apiToken, caller.tokenId);
      const attributes = [`Path=/codec`, `Max-Age=${sessionSeconds}`, 'HttpOnly', 'SameSite=Strict', ...(overHttps(request) ? ['Secure'] : [])];
      return reply
        .header('set-cookie', `${sessionCookie}=${value}; ${attributes.join('; ')}`)
        .type('text/html; charset=utf-8')
        .send(signedInPage(new Date(Number(value.split('.')[0]) * 1000)));
    },
  );
}

export const codecRoutes: FastifyPluginCallbackZod<{ db: Db; apiToken: string; codec: CodecServerSettings }> = (app, { db, apiToken, codec }, done) => {
  if (apiToken.length === 0) throw new Error('the API token is empty; set a long random token');
  allowUiOrigins(app, codec.allowedOrigins);
  const callers = codecCallers(db, apiToken);

  // Sign-in form: application/x-www-form-urlencoded, read here only.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, parsed) => {
    parsed(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  for (const operation of ['encode', 'decode'] as const) registerPayloadRoute(app, operation, codec.codec, callers);
  registerSessionRoutes(app, apiToken, callers);
  done();
};
