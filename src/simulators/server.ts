import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { FaultPlan, faultSettingsSchema, TokenBucket } from './caseware/faults';

// What the portal simulators share: the Fastify server, the seeded fault plan in front of the API,
// the token-bucket rate limit, the `/_sim/faults` and `/_sim/reset` hooks, and listening and
// closing (which never waits for a request that hangs or is delayed). What a portal's API says,
// how it authenticates and how its error bodies look stay in the portal's simulator.

export interface SimulatorServerOptions {
  rateLimit: { burst: number; replenishPerSecond: number };
  logger?: boolean;
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

  /** The test and demo hooks every simulator has: state, faults and reset. */
  addSimHooks(options: SimHookOptions): void {
    this.app.get('/_sim/state', (_request, reply) => reply.send(options.state()));

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
