import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { CO_API_PREFIX, type CoServiceErrorCode } from '../../portals/client-online/api';
import { ClientOnlineSimulatorError, errorBody } from './errors';
import { ClientOnlineStore, type ListQuery } from './store';
import { pathOf, SimulatorServer, thrownStatus } from '../server';

// A faithful HTTP simulator of Client Online (PinkWeb) (see docs: portals.md), for tests, the local
// stack and benchmarks. The API lives under `/api/v1` with the `X-Api-Key` header; test and demo
// hooks live under `/_sim` and are neither rate-limited, faulted nor guarded. Every API shape is
// [assumed]: they come from src/portals/client-online/api.ts.

export type { SimulatedClient, SimulatedLogin, SimulatedMail, SimulatorState } from './store';

export interface ClientOnlineSimulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  apiKey?: string;
  /** [assumed] A token bucket per service, like CaseWare's; an empty bucket answers 429. */
  rateLimit?: { burst: number; replenishPerSecond: number };
  /**
   * The time a push spends between looking up its refs and writing (the service's own database
   * round trip). Above 0, overlapping pushes race as they would on the real service.
   */
  processingDelayMs?: number;
  /** Keep every API request's body at `GET /_sim/requests` (tests of what the service sends). */
  recordRequests?: boolean;
  logger?: boolean;
}

export interface ClientOnlineSimulator {
  origin: string;
  /** The origin: API paths start with `/api/v1`. */
  baseUrl: string;
  apiKey: string;
  close(): Promise<void>;
}

/** A load of a few thousand clients at once is some megabytes of JSON. */
const simLoadBodyLimit = 256 * 1024 * 1024;

export async function startClientOnlineSimulator(
  options: ClientOnlineSimulatorOptions = {},
): Promise<ClientOnlineSimulator> {
  const host = options.host ?? '127.0.0.1';
  const apiKey = options.apiKey ?? 'sim-api-key';
  const rateLimit = options.rateLimit ?? { burst: 200, replenishPerSecond: 100 };
  const processingDelayMs = options.processingDelayMs ?? 0;

  const store = new ClientOnlineStore();
  const bucketRetryAfterSeconds = String(Math.max(1, Math.ceil(1 / rateLimit.replenishPerSecond)));
  const server = new SimulatorServer({ rateLimit, logger: options.logger });
  const { app } = server;

  const isApi = (request: FastifyRequest) => pathOf(request).startsWith(`${CO_API_PREFIX}/`);

  // Routes and script paths are the paths below the base URL (the origin), as the client names
  // them: `PUT /api/v1/clients/:clientNumber`. Counted before any fault meets them.
  server.addCallCounter({ counted: isApi, apiRoot: '' });
  if (options.recordRequests) server.addRequestRecorder({ recorded: isApi, apiRoot: '' });

  server.addFaultHook({
    faulted: isApi,
    unavailableBody: errorBody('unavailable', 'The service is temporarily unavailable'),
    rateLimitedBody: errorBody('rate-limited', 'Too many requests'),
  });

  server.addRateLimitHook({
    limited: isApi,
    refuse: (reply) =>
      void reply.code(429).header('retry-after', bucketRetryAfterSeconds).send(errorBody('rate-limited', 'Rate limit exceeded')),
  });

  server.addScriptHook({
    scripted: isApi,
    apiRoot: '',
    errorBody: (status) => errorBody(scriptedCode(status), 'Scripted failure'),
    invalidScript: (messages) => new ClientOnlineSimulatorError(400, 'invalid', messages.join('; ')),
  });

  app.addHook('onRequest', (request, reply, done) => {
    if (!isApi(request) || sameKey(request.headers['x-api-key'], apiKey)) {
      done();
      return;
    }
    void reply.code(401).send(errorBody('unauthorized', 'A valid X-Api-Key header is required'));
  });

  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof ClientOnlineSimulatorError) return reply.code(error.status).send(error.body);
    const status = thrownStatus(error);
    if (status < 500) return reply.code(status).send(errorBody('invalid', error instanceof Error ? error.message : 'Bad request'));
    return reply.code(status).send(errorBody('internal', 'An internal error occurred'));
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send(errorBody('not-found', 'Resource not found')));

  // ----- the API -------------------------------------------------------------------------------

  type ByNumber = { Params: { clientNumber: string } };
  const clientPath = `${CO_API_PREFIX}/clients/:clientNumber`;

  app.get(`${CO_API_PREFIX}/clients`, (request, reply) => reply.send(store.listClients(request.query as ListQuery)));

  app.get<ByNumber>(clientPath, (request, reply) => reply.send(store.getClient(request.params.clientNumber)));

  // [assumed] A push answers the client as stored: 201 when it was created, 200 when replaced.
  app.put<ByNumber>(clientPath, async (request, reply) => {
    const plan = store.planPush(request.params.clientNumber, request.body);
    if (processingDelayMs > 0) await server.wait(processingDelayMs);
    const { client, created } = store.applyPush(plan);
    return reply.code(created ? 201 : 200).send(client);
  });

  // [assumed] Deleting answers 204; an unknown client answers 404.
  app.delete<ByNumber>(clientPath, (request, reply) => {
    store.deleteClient(request.params.clientNumber);
    return reply.code(204).send();
  });

  // ----- test and demo hooks -------------------------------------------------------------------

  // The same settings as the CaseWare simulator's; `expireTokensNow` is accepted and means
  // nothing here (an API key does not expire).
  server.addSimHooks({
    state: () => store.state(),
    invalidFaults: (messages) => new ClientOnlineSimulatorError(400, 'invalid', messages.join('; ')),
    reset: () => store.reset(),
  });

  // Seeding many clients at once (benchmarks, demos), and reading clients back without spending
  // the rate limit or showing in /_sim/calls.
  app.post('/_sim/load', { bodyLimit: simLoadBodyLimit }, (request, reply) => reply.send(store.load(request.body)));
  app.post('/_sim/lookup', { bodyLimit: simLoadBodyLimit }, (request, reply) => reply.send(store.lookup(request.body)));

  const origin = await server.listen(options.port ?? 0, host);

  return {
    origin,
    baseUrl: origin,
    apiKey,
    close: () => server.close(),
  };
}

/** The service's error code for a scripted status. */
function scriptedCode(status: number): CoServiceErrorCode {
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 404) return 'not-found';
  if (status === 409) return 'conflict';
  if (status === 429) return 'rate-limited';
  if (status === 503) return 'unavailable';
  if (status >= 500) return 'internal';
  return 'invalid';
}

function sameKey(given: string | string[] | undefined, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const left = Buffer.from(given);
  const right = Buffer.from(expected);
  return left.length === right.length && timingSafeEqual(left, right);
}
