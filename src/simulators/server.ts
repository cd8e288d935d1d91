import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { FaultPlan, faultSettingsSchema, TokenBucket } from './caseware/faults';
import { Script } from './script';

// What the portal simulators share: the Fastify server, the seeded fault plan in front of the API,
// the token-bucket rate limit, the `/_sim/calls`, `/_sim/requests`, `/_sim/script`, `/_sim/faults` and `/_sim/reset`
// hooks, and listening and closing (which never waits for a request that hangs or is delayed).
// What a portal's API says, how it authenticates and how its error bodies look stay in the
// portal's simulator.

export interface SimulatorServerOptions {
  rateLimit: { burst: number; replenishPerSecond: number };
  logger?: boolean;
}

/** One API request as the simulator received it: `GET /_sim/requests` (see addRequestRecorder). */
export interface ReceivedRequest {
  method: string;
  /** Below the API root, with the query string (a search can hold an email, and that was sent too). */
  path: string;
  /** The parsed JSON body; null without one. */
  body: unknown;
}

export interface FaultHookOptions {
  /** Whether faults may meet this request: API calls only, never the hooks. */
  faulted(request: FastifyRequest): boolean;
  /** The body of an injected 500 or 503. */
  unavailableBody: unknown;
  /** The body of an injected 429 (sent with Retry-After). */
  rateLimitedBody: unknown;
  /** Adds what the service sends besides Retry-After with an injected 429. */
  onRateLimited?(reply: FastifyReply): void;
}

export interface RateLimitHookOptions {
  /** Whether this request takes a token from the bucket: API calls only, never the hooks. */
  limited(request: FastifyRequest): boolean;
  /** Called with what is left in the bucket after every request that took (or found none). */
  onTake?(reply: FastifyReply, remaining: number): void;
  /** Answers a request that found the bucket empty. */
  refuse(reply: FastifyReply): void;
}

export interface CallCountOptions {
  /** Whether this request is counted: API calls only, never the hooks. */
  counted(request: FastifyRequest): boolean;
  /** Where the API's paths begin; routes are counted below it, e.g. `PATCH /users/:guid`. */
  apiRoot: string;
}

export interface ScriptHookOptions {
  /** Whether a script may meet this request: API calls only, never the hooks. */
  scripted(request: FastifyRequest): boolean;
  /** Where the API's paths begin; rules match the path below it, e.g. `/users/x`. */
  apiRoot: string;
  /** The service's error body for a scripted status, when the rule has no body of its own. */
  errorBody(status: number): unknown;
  /** The portal's error for a script that does not validate (its error handler answers 400). */
  invalidScript(messages: string[]): Error;
}

export interface SimHookOptions {
  /** What `GET /_sim/state` answers. */
  state(): unknown;
  /** The portal's error for fault settings that do not validate (its error handler answers 400). */
  invalidFaults(messages: string[]): Error;
  /** `expireTokensNow` in the fault settings; ignored when the service has no tokens. */
  expireTokens?(): void;
  /** Clears the portal's own state; faults and the rate limit are reset after it. */
  reset(): void;
}

/** The path of a request, without its query string. */
export function pathOf(request: FastifyRequest): string {
  return request.url.split('?', 1)[0] ?? '';
}

/**
 * The status of an error a route threw: Fastify's own refusals (malformed JSON, wrong content type)
 * carry theirs; anything else is 500.
 */
export function thrownStatus(error: unknown): number {
  const statusCode = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof statusCode === 'number' && statusCode >= 400 ? statusCode : 500;
}

export class SimulatorServer {
  readonly app: FastifyInstance;
  readonly bucket: TokenBucket;
  private faults = new FaultPlan({});
  /** Faults that met a request, by kind, since the start or the last reset (`GET /_sim/faults`). */
  private readonly injected = new Map<string, number>();
  private readonly calls = new Map<string, number>();
  private received: ReceivedRequest[] | undefined;
  private readonly script = new Script();
  private closed = false;
  private readonly delayed = new Set<NodeJS.Timeout>();
  private readonly held = new Set<FastifyRequest['raw']['socket']>();

  constructor(options: SimulatorServerOptions) {
    this.app = Fastify({ logger: options.logger ?? false, forceCloseConnections: true });
    this.bucket = new TokenBucket(options.rateLimit.burst, options.rateLimit.replenishPerSecond);
  }

  /** Faults first: they stand for failures in front of the service. */
  addFaultHook(options: FaultHookOptions): void {
    this.app.addHook('onRequest', (request, reply, done) => {
      if (!options.faulted(request) || !this.faults.active) {
        done();
        return;
      }
      const outcome = this.faults.next();
      if (outcome.kind !== 'pass') {
        const kind = outcome.kind === 'error' ? String(outcome.status) : outcome.kind === 'rate-limit' ? '429' : outcome.kind;
        this.injected.set(kind, (this.injected.get(kind) ?? 0) + 1);
      }
      const act = () => {
        this.delayed.delete(timer);
        if (this.closed) return;
        switch (outcome.kind) {
          case 'pass':
            done();
            return;
          case 'drop':
            reply.hijack();
            request.raw.socket.destroy();
            return;
          case 'hang': {
            // Never answers; the socket closes when the client gives up, or when the simulator closes.
            reply.hijack();
            const socket = request.raw.socket;
            this.held.add(socket);
            socket.once('close', () => this.held.delete(socket));
            return;
          }
          case 'error':
            void reply.code(outcome.status).send(options.unavailableBody);
            return;
          case 'rate-limit':
            options.onRateLimited?.(reply);
            void reply.code(429).header('retry-after', String(outcome.retryAfterSeconds)).send(options.rateLimitedBody);
            return;
        }
      };
      const timer = setTimeout(act, this.faults.latencyMs);
      this.delayed.add(timer);
    });
  }

  /** The service's token bucket: one token per API call; an empty bucket is refused. */
  addRateLimitHook(options: RateLimitHookOptions): void {
    this.app.addHook('onRequest', (request, reply, done) => {
      if (!options.limited(request)) {
        done();
        return;
      }
      const { allowed, remaining } = this.bucket.take();
      options.onTake?.(reply, remaining);
      if (!allowed) {
        options.refuse(reply);
        return;
      }
      done();
    });
  }

  /**
   * How many API calls arrived, per method and route, at `GET /_sim/calls` (e.g.
   * `{"PATCH /users/:guid": 2}`), for tests that must show, from the service's side of the wire, that
   * a call was or was not made. Add it before the other hooks: a call is counted before any fault,
   * rate limit or script meets it.
   */
  addCallCounter(options: CallCountOptions): void {
    this.app.addHook('onRequest', (request, _reply, done) => {
      if (options.counted(request)) {
        const route = `${request.method} ${(request.routeOptions.url ?? pathOf(request)).slice(options.apiRoot.length)}`;
        this.calls.set(route, (this.calls.get(route) ?? 0) + 1);
      }
      done();
    });
    this.app.get('/_sim/calls', (_request, reply) => reply.send(Object.fromEntries(this.calls)));
  }

  /**
   * Keeps every API request's body, for tests that check what the service sent a portal (personal
   * data, secrets): `GET /_sim/requests`. Off unless asked for, since a benchmark sends millions.
   * Recorded when the route's handler is about to run, i.e. after authentication, faults, the rate
   * limit and scripts let it through: a request refused before its body was read is not kept.
   */
  addRequestRecorder(options: { recorded(request: FastifyRequest): boolean; apiRoot: string }): void {
    const received: ReceivedRequest[] = [];
    this.received = received;
    this.app.addHook('preHandler', (request, _reply, done) => {
      if (options.recorded(request)) {
        received.push({ method: request.method, path: request.url.slice(options.apiRoot.length), body: request.body ?? null });
      }
      done();
    });
    this.app.get('/_sim/requests', (_request, reply) => reply.send(received));
  }

  /** Scripted answers (see ./script) set with `POST /_sim/script`; they meet calls where this hook is added. */
  addScriptHook(options: ScriptHookOptions): void {
    // Calls let through whose answer is to be lost: the connection is cut where the answer would go.
    const losing = new WeakSet<FastifyRequest>();
    this.app.addHook('onRequest', async (request, reply) => {
      if (!options.scripted(request)) return;
      const rule = this.script.take(request.method, pathOf(request).slice(options.apiRoot.length));
      if (!rule) return;
      if (rule.delayMs) await this.wait(rule.delayMs);
      if (rule.status === undefined) {
        if (rule.loseAnswer) losing.add(request);
        return;
      }
      // Returning the reply tells Fastify the hook answered.
      return reply
        .code(rule.status)
        .headers(rule.headers ?? {})
        .type('application/json')
        .send(rule.body ?? JSON.stringify(options.errorBody(rule.status)));
    });
    this.app.addHook('onSend', (request, reply, payload, done) => {
      if (!losing.has(request)) {
        done(null, payload);
        return;
      }
      reply.hijack();
      request.raw.socket.destroy();
      done(null, payload);
    });
    this.app.post('/_sim/script', (request, reply) => {
      const refused = this.script.replace(request.body);
      if (refused) throw options.invalidScript(refused);
      return reply.code(204).send();
    });
  }

  /** The test and demo hooks every simulator has: state, faults and reset (which clears calls, recorded requests and script too). */
  addSimHooks(options: SimHookOptions): void {
    this.app.get('/_sim/state', (_request, reply) => reply.send(options.state()));

    this.app.get('/_sim/faults', (_request, reply) => reply.send({ injected: Object.fromEntries(this.injected) }));

    this.app.post('/_sim/faults', (request, reply) => {
      const parsed = faultSettingsSchema.safeParse(request.body ?? {});
      if (!parsed.success) throw options.invalidFaults(parsed.error.issues.map((issue) => issue.message));
      const { expireTokensNow, ...settings } = parsed.data;
      if (expireTokensNow) options.expireTokens?.();
      this.faults = new FaultPlan(settings);
      return reply.code(204).send();
    });

    this.app.post('/_sim/reset', (_request, reply) => {
      options.reset();
      this.calls.clear();
      this.injected.clear();
      this.received?.splice(0);
      this.script.clear();
      this.faults = new FaultPlan({});
      this.bucket.refill();
      return reply.code(204).send();
    });
  }

  /** Waits like the service would; a closed simulator never goes on. */
  wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.delayed.delete(timer);
        if (!this.closed) resolve();
      }, ms);
      this.delayed.add(timer);
    });
  }

  /** Listens; answers the origin, e.g. `http://127.0.0.1:41234`. */
  async listen(port: number, host: string): Promise<string> {
    await this.app.listen({ port, host });
    const { port: bound } = this.app.server.address() as AddressInfo;
    return `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
  }

  /** Closes at once: delayed requests are dropped and hanging ones cut off. */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.delayed) clearTimeout(timer);
    this.delayed.clear();
    for (const socket of this.held) socket.destroy();
    this.held.clear();
    await this.app.close();
  }
}
