import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Db } from '../db';
import type { MailGuardSettings } from '../sync/mail-guard';
import { recordChanges } from './audit';
import { accessControl } from './auth';
import { apiErrorHandler, apiNotFoundHandler } from './errors';
import { loggedError } from '../logging';
import { clientRoutes } from './routes-clients';
import { consoleRoutes } from './routes-console';
import { codecRoutes, type CodecServerSettings } from './routes-codec';
import { contactRoutes } from './routes-contacts';
import { fileRequestRoutes, type FileRequestSettings } from './routes-file-requests';
import { masterRoutes } from './routes-masters';
import { metricsRoutes, type MetricsSettings } from './routes-metrics';
import { offboardingRoutes, type OffboardingSettings } from './routes-offboardings';
import { portalRoutes } from './routes-portals';
import { reconcileRoutes, type ReconcileSettings } from './routes-reconcile';
import { keptUserRoutes } from './routes-kept-users';
import { auditRoutes } from './routes-audit';
import { syncRoutes } from './routes-sync';
import { tokenRoutes } from './routes-tokens';

export interface ApiOptions {
  db: Db;
  /**
   * The built-in token (API_TOKEN, or the generated DATA_DIR/api-token): every role. Tokens with
   * names and roles are in the database (src/api/tokens.ts); src/api/auth.ts says which route needs which.
   */
  apiToken: string;
  /**
   * The service's logger (src/logging.ts): the API's lines go where the rest go, through its
   * redaction. Wins over `logger`, which makes a pino logger of Fastify's own (tests).
   */
  log?: Logger;
  logger?: FastifyServerOptions['logger'];
  /** Starting and steering offboardings needs Temporal; without it they can be planned only. */
  offboarding?: OffboardingSettings;
  /** Running the reconcile and steering its schedule needs Temporal too. */
  reconcile?: ReconcileSettings;
  /** Starting and cancelling file requests needs Temporal too. */
  fileRequests?: FileRequestSettings;
  /** GET /metrics, public unless it has a token of its own. */
  metrics?: MetricsSettings;
  /** With payload encryption on: the codec server for the Temporal UI and CLI (behind the API token). */
  codec?: CodecServerSettings;
  /** The credentials-mail guard's threshold, as the workers have it (shown by GET /sync/health); default 20. */
  credentialsMailGuard?: MailGuardSettings;
}

// Request bodies and headers hold personal data and the token: log only what identifies the
// request. These serializers replace whatever the caller passes for req, res and err.
const safeSerializers = {
  req: (request: { method?: string; url?: string; ip?: string }) => ({
    method: request.method,
    url: request.url,
    remoteAddress: request.ip,
  }),
  res: (reply: { statusCode?: number }) => ({ statusCode: reply.statusCode }),
  err: loggedError,
};

/** The request as a log line names it: method, path without the query string, the caller's address. */
/**
 * A read logs at debug unless it fails: the console asks every second, which at info put two lines
 * a second into `npm start`'s output. Writes and refusals stay at info; the completed line names the
 * request, so a failed read is readable without its incoming line.
 */
const isRead = (request: FastifyRequest) => request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS';
const requestSummary = (request: FastifyRequest) => ({ method: request.method, url: request.url.split('?', 1)[0], ip: request.ip });
const replySummary = (reply: FastifyReply) => ({ statusCode: reply.statusCode });

/**
 * Fastify's request lines, with plain summaries instead of its request and reply objects: the
 * service's logger redacts (copies) what it logs before the serializers run, and a copy of those
 * objects is empty. The summaries then pass through the serializers above unchanged.
 */
class PlainLogController extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (isRead(request)) request.log.debug({ req: requestSummary(request) }, 'incoming request');
    else request.log.info({ req: requestSummary(request) }, 'incoming request');
  }

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    const fields = { req: requestSummary(request), res: replySummary(reply), responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...fields, err: error }, 'request errored');
    else if (isRead(request) && reply.statusCode < 400) reply.log.debug(fields, 'request completed');
    else reply.log.info(fields, 'request completed');
  }

  override defaultErrorLog(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    if (reply.statusCode >= 500) reply.log.error({ req: requestSummary(request), res: replySummary(reply), err: error }, error.message);
    else reply.log.info({ res: replySummary(reply), err: error }, error.message);
  }

  override routeNotFound(request: FastifyRequest): void {
    request.log.info({ req: requestSummary(request) }, 'route not found');
  }

  override writeHeadError(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    reply.log.warn({ req: requestSummary(request), res: replySummary(reply), err: error }, error.message);
  }
}

function loggerOptions({ log, logger }: Pick<ApiOptions, 'log' | 'logger'>): Pick<FastifyServerOptions, 'logger' | 'loggerInstance' | 'logController'> {
  if (log) return { loggerInstance: log.child({}, { serializers: safeSerializers }), logController: new PlainLogController() };
  if (logger === undefined || logger === false) return { logger: false };
  const base = logger === true ? {} : logger;
  return { logger: { ...base, serializers: { ...base.serializers, ...safeSerializers } } };
}

const securityDescription = [
  'A bearer token: `Authorization: Bearer <token>`. Each token has a name and a role:',
  '`viewer` may read everything; `registry` (the CRM integration) may also write clients, contacts, links and master links;',
  '`operator` may also offboard (plan, execute, approve, cancel), resync, run or pause the reconcile and hold or release a portal;',
  '`admin` may also make, list and revoke the tokens (/tokens). Operators and admins read the audit (GET /audit): every change each token made, and every 403.',
  'The built-in token (API_TOKEN) has every role. A missing, wrong or revoked token gets 401, always with the same body;',
  'a valid token without the role a route needs gets 403, naming the role.',
  'An offboarding that waits for approval must be approved by another token than the one that asked for it, the built-in token included (four eyes);',
  'so must credentials mails the guard holds (POST /sync/portals/:portal/approve-mails: two different operator tokens).',
  'Tokens are made with POST /tokens (admin), the console\'s Tokens page or `portal-sync tokens create --name <name> --role <role>` (docs/api.md, "Tokens and roles").',
].join(' ');

const registeredRoutes = new WeakMap<FastifyInstance, { method: string; url: string }[]>();

/** Every route of an API that buildApi made, as method and pattern (HEAD routes included); for the test that each has a role. */
export function routesOf(app: FastifyInstance): readonly { method: string; url: string }[] {
  return registeredRoutes.get(app) ?? [];
}

/** The registry's HTTP API, ready for `listen` (or `inject` in tests). */
export async function buildApi(options: ApiOptions): Promise<FastifyInstance> {
  // frameworkErrors: a URL refused before routing gets the API's error shape too.
  const app = Fastify({ ...loggerOptions(options), frameworkErrors: (error, request, reply) => void apiErrorHandler(error, request, reply) }).withTypeProvider<ZodTypeProvider>();
  const routes: { method: string; url: string }[] = [];
  registeredRoutes.set(app, routes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });
  // Who may do what: one table for every route (src/api/auth.ts), checked before anything else.
  app.decorateRequest('caller', null);
  app.addHook('onRequest', accessControl({ db: options.db, apiToken: options.apiToken }));
  // What each token changed, for every route (src/api/audit.ts).
  recordChanges(app, options.db);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(apiErrorHandler);
  app.setNotFoundHandler(apiNotFoundHandler);

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'portal-sync registry API',
        description:
          "The firm's client registry: clients, contacts, their portal links, and how the sync to CaseWare Cloud and Client Online is doing.",
        version: '1',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: securityDescription } } },
      security: [{ bearerAuth: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  app.get(
    '/health',
    {
      schema: {
        tags: ['operations'],
        summary: 'Liveness and database reachability',
        security: [],
        response: {
          200: z.object({ status: z.literal('ok') }),
          503: z.object({ status: z.literal('unavailable'), reason: z.string() }),
        },
      },
    },
    async (request, reply) => {
      try {
        await options.db.raw('select 1');
        return reply.code(200).send({ status: 'ok' });
      } catch (error) {
        request.log.error({ err: error }, 'health check: database unreachable');
        return reply.code(503).send({ status: 'unavailable', reason: 'database unreachable' });
      }
    },
  );

  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
  // The console's page is public; its data calls carry a token like any script's.
  await app.register(consoleRoutes);
  await app.register(metricsRoutes, { db: options.db, metrics: options.metrics });
  if (options.codec) await app.register(codecRoutes, { db: options.db, apiToken: options.apiToken, codec: options.codec });

  // The registry API; the role each route needs is in routeAccess (src/api/auth.ts).
  await app.register((api, _options, done) => {
    void api.register(clientRoutes, { db: options.db });
    void api.register(contactRoutes, { db: options.db });
    void api.register(masterRoutes, { db: options.db });
    void api.register(syncRoutes, { db: options.db, credentialsMailGuard: options.credentialsMailGuard });
    void api.register(keptUserRoutes, { db: options.db });
    void api.register(portalRoutes, { db: options.db });
    void api.register(offboardingRoutes, { db: options.db, offboarding: options.offboarding });
    void api.register(reconcileRoutes, { db: options.db, reconcile: options.reconcile });
    void api.register(fileRequestRoutes, { db: options.db, fileRequests: options.fileRequests });
    void api.register(tokenRoutes, { db: options.db });
    void api.register(auditRoutes, { db: options.db });
    done();
  });

  return app;
}
