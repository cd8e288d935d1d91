import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { FastifyRequest, onRequestHookHandler } from 'fastify';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { bearerAuth } from './auth';
import { errorBody, errorResponses } from './errors';

// The codec server of the Temporal Web UI and CLI (https://docs.temporal.io/codec-server): with
// payload encryption on, Temporal holds only ciphertext, and whoever wants to read a workflow's
// inputs and results in the UI asks this service to decode them. Only an operator with the API
// token may: the CLI sends it as a header (`temporal ... --codec-auth "Bearer $API_TOKEN"`); a
// browser cannot add a header to the UI's requests, so an operator signs in once at
// /codec/session with the token and the browser then sends a session cookie (the UI must be
// configured to include credentials, and its origin allowed here for CORS).

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

/** The session cookie's value: when it ends, and a MAC over that with a key derived from the API token. */
function sessionMac(apiToken: string, expiresAt: number): string {
  return createHmac('sha256', apiToken).update(`codec-session:${expiresAt}`).digest('base64url');
}

function sessionValue(apiToken: string, now = Date.now()): string {
  const expiresAt = Math.floor(now / 1000) + sessionSeconds;
  return `${expiresAt}.${sessionMac(apiToken, expiresAt)}`;
}

function validSession(apiToken: string, value: string | undefined, now = Date.now()): boolean {
  const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value ?? '');
  if (!match) return false;
  const expiresAt = Number(match[1]);
  if (expiresAt * 1000 <= now) return false;
  const expected = Buffer.from(sessionMac(apiToken, expiresAt));
  const presented = Buffer.from(match[2] ?? '');
  return presented.length === expected.length && timingSafeEqual(presented, expected);
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

export const codecRoutes: FastifyPluginCallbackZod<{ apiToken: string; codec: CodecServerSettings }> = (app, { apiToken, codec }, done) => {
  const requireToken = bearerAuth(apiToken);
  const allowed = new Set(codec.allowedOrigins);

  // CORS for the UI's origins only; credentials allowed, for the session cookie.
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

  const requireOperator: onRequestHookHandler = function (request, reply, next) {
    if (validSession(apiToken, cookieOf(request, sessionCookie))) {
      next();
      return;
    }
    requireToken.call(this, request, reply, next);
  };

  // Sign-in form: application/x-www-form-urlencoded, read here only.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, parsed) => {
    parsed(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  for (const operation of ['encode', 'decode'] as const) {
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
        onRequest: requireOperator,
        bodyLimit: 16 * 1024 * 1024,
        schema: {
          tags: ['operations'],
          summary: operation === 'encode' ? 'Codec server: encrypt payloads (Temporal UI and CLI)' : 'Codec server: decrypt payloads (Temporal UI and CLI)',
          description: 'the API token as bearer token, or the session cookie of /codec/session',
          body: payloadsJsonSchema,
          response: { 200: payloadsJsonSchema, ...errorResponses(400, 401) },
        },
      },
      async (request, reply) => {
        const payloads = request.body.payloads.map(toPayload);
        let converted: Payload[];
        try {
          converted = operation === 'encode' ? await codec.codec.encode(payloads) : await codec.codec.decode(payloads);
        } catch (error) {
          return reply.code(400).send(errorBody('invalid-request', error instanceof Error ? error.message : `the payloads could not be ${operation}d`));
        }
        return reply.code(200).send({ payloads: converted.map(toJson) });
      },
    );
  }

  app.get('/codec/session', { schema: { hide: true } }, (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(signInPage('Sign in with the API token to let this browser decode payloads in the Temporal Web UI.')),
  );

  app.post(
    '/codec/session',
    { schema: { hide: true, body: z.object({ token: z.string() }) } },
    (request, reply) => {
      const presented = createHmac('sha256', 'compare').update(request.body.token).digest();
      const expected = createHmac('sha256', 'compare').update(apiToken).digest();
      if (!timingSafeEqual(presented, expected)) {
        return reply.code(401).type('text/html; charset=utf-8').send(signInPage('That is not the API token. Try again.'));
      }
      const value = sessionValue(apiToken);
      const attributes = [`Path=/codec`, `Max-Age=${sessionSeconds}`, 'HttpOnly', 'SameSite=Strict', ...(overHttps(request) ? ['Secure'] : [])];
      return reply
        .header('set-cookie', `${sessionCookie}=${value}; ${attributes.join('; ')}`)
        .type('text/html; charset=utf-8')
        .send(signedInPage(new Date(Number(value.split('.')[0]) * 1000)));
    },
  );

  done();
};
