import type { z } from 'zod';
import {
  defaultMaxRateLimitWaitMs,
  discardBody,
  readBody,
  readValidated,
  sendJson,
  sendWaitingOutRateLimits,
  type JsonRequest,
  type JsonTarget,
  type PortalCallCounter,
  type RateLimitBudget,
  type RequestGate,
} from '../http';
import {
  CO_API_KEY_HEADER,
  CO_API_PREFIX,
  CO_FIRST_PAGE,
  CO_MAX_PAGE_SIZE,
  coClientPageSchema,
  coClientSchema,
  coErrorBodySchema,
  type CoClient,
  type CoClientPush,
} from './api';
import { clientOnlineErrors, clientOnlineHttpError, type ClientOnlineOperation } from './errors';

export type { CoClient, CoClientKind, CoClientPush, CoUser, CoUserPush } from './api';
export { ClientOnlineError, type ClientOnlineErrorCode } from './errors';
export type { PortalCallCounter } from '../http';

export interface ClientOnlineClientOptions {
  /** The service's origin (or a prefix before `/api/v1`). */
  baseUrl: string;
  apiKey: string;
  /** Per HTTP request. Default 10 000 ms. */
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

/** Per call: `signal` aborts it, its requests and its rate-limit waits (the activity was cancelled). */
export interface CallOptions {
  signal?: AbortSignal;
}

interface RequestSpec<T> extends JsonRequest {
  method: 'GET' | 'PUT' | 'DELETE';
  // Named as the shared transport's request option, which passes it on to fetch.
  signal?: AbortSignal;
  /** Schema of the answer; undefined when the answer carries no body we use. */
  schema?: z.ZodType<T>;
}

/** What came back: a value, or the 404 the caller asked to see instead of an error. */
type Outcome<T> = { found: true; value: T | undefined } | { found: false };

// A list whose total never comes within reach is a broken service; stop rather than loop forever.
const maxPages = 10_000;

/**
 * Client Online (PinkWeb). Every failure is thrown as a ClientOnlineError. Only a request the rate
 * limit refused is repeated here, after the wait the service asks for (up to `maxRateLimitWaitMs`
 * per call; see sendWaitingOutRateLimits); everything else is retried by Temporal's activity retry
 * policies, using `retryable` and `retryAfterMs`.
 */
export class ClientOnlineClient {
  private readonly target: JsonTarget;
  private readonly pageSize: number;
  /** How long one request may take; a login lease outlasts it. */
  readonly requestTimeoutMs: number;
  /**
   * How long one call may wait in all for the rate limit, besides its requests: a call that met
   * 429s takes up to this plus `requestTimeoutMs` for each request it sent.
   */
  readonly maxRateLimitWaitMs: number;
  /** Counts this view's requests (see withCallCounter). */
  private readonly counter: PortalCallCounter | undefined;

  constructor(options: ClientOnlineClientOptions) {
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.maxRateLimitWaitMs = Math.max(0, options.maxRateLimitWaitMs ?? defaultMaxRateLimitWaitMs);
    this.target = {
      portal: 'clientOnline',
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      headers: { [CO_API_KEY_HEADER]: options.apiKey },
      timeoutMs: this.requestTimeoutMs,
      errors: clientOnlineErrors,
      gate: options.gate,
    };
    this.pageSize = Math.min(Math.max(1, Math.floor(options.pageSize ?? CO_MAX_PAGE_SIZE)), CO_MAX_PAGE_SIZE);
  }

  /** A view of this client that counts every request it sends in `counter` (see PortalCallCounter). */
  withCallCounter(counter: PortalCallCounter | undefined): ClientOnlineClient {
    if (counter === undefined) return this;
    return Object.create(this, { counter: { value: counter } }) as ClientOnlineClient;
  }

  /**
   * Replaces the client and its users with `body`. Users whose `ref` Client Online has never seen
   * become new logins, and Client Online mails each of them credentials; users pushed earlier and
   * missing now lose this client. Answers the client as stored.
   */
  async pushClient(clientNumber: string, body: CoClientPush, { signal }: CallOptions = {}): Promise<CoClient> {
    const spec = { method: 'PUT', path: clientPath(clientNumber), body, schema: coClientSchema, signal } as const;
    const outcome = await this.request(spec);
    return required(spec, outcome.found ? outcome.value : undefined);
  }

  /** The client as stored, or undefined when Client Online does not have it. */
  async getClient(clientNumber: string, { signal }: CallOptions = {}): Promise<CoClient | undefined> {
    const spec = { method: 'GET', path: clientPath(clientNumber), schema: coClientSchema, signal } as const;
    const outcome = await this.request(spec, { notFoundIsAnswer: true });
    return outcome.found ? required(spec, outcome.value) : undefined;
  }

  /**
   * Deletes the client; its logins lose access to it, and logins left without any client are
   * deleted. True when it was deleted, false when it was not there (idempotent).
   */
  async deleteClient(clientNumber: string, { signal }: CallOptions = {}): Promise<boolean> {
    const outcome = await this.request({ method: 'DELETE', path: clientPath(clientNumber), signal }, { notFoundIsAnswer: true });
    return outcome.found;
  }

  /** Every client, page by page. */
  async listClients({ signal }: CallOptions = {}): Promise<CoClient[]> {
    const path = `${CO_API_PREFIX}/clients`;
    const all: CoClient[] = [];
    // One call: the pages share what it may wait for the rate limit.
    const budget = this.rateLimitBudget();
    for (let page = CO_FIRST_PAGE; page < CO_FIRST_PAGE + maxPages; page += 1) {
      const spec = { method: 'GET', path, query: { page, pageSize: this.pageSize }, schema: coClientPageSchema, signal } as const;
      const outcome = await this.request(spec, { budget });
      const answer = required(spec, outcome.found ? outcome.value : undefined);
      all.push(...answer.items);
      if (answer.items.length === 0 || all.length >= answer.total) return all;
    }
    throw clientOnlineErrors.badResponse({ method: 'GET', path }, 200, `more than ${maxPages} pages`);
  }

  // ----- transport -----------------------------------------------------------------------------

  private async request<T>(
    spec: RequestSpec<T>,
    options: { notFoundIsAnswer?: boolean; budget?: RateLimitBudget } = {},
  ): Promise<Outcome<T>> {
    const budget = options.budget ?? this.rateLimitBudget();
    const response = await sendWaitingOutRateLimits(spec, clientOnlineErrors, budget, spec.signal, () =>
      sendJson(this.target, { ...spec, counter: this.counter }),
    );
    if (!response.ok) {
      if (response.status === 409) throw clientOnlineHttpError(spec, 409, response.headers, await serviceErrorCode(spec, response));
      await discardBody(response);
      if (response.status === 404 && options.notFoundIsAnswer) return { found: false };
      throw clientOnlineHttpError(spec, response.status, response.headers);
    }
    return { found: true, value: await readValidated(clientOnlineErrors, spec, response, spec.schema) };
  }

  private rateLimitBudget(): RateLimitBudget {
    return { leftMs: this.maxRateLimitWaitMs };
  }
}

/** The code of an error body (`{ error: { code } }`); its message is never used (it may quote personal data). */
async function serviceErrorCode(operation: ClientOnlineOperation, response: Response): Promise<string | undefined> {
  // Read within the size limit like any answer; one that cannot be read has no code.
  const text = await readBody(clientOnlineErrors, operation, response).catch(() => undefined);
  let body: unknown;
  try {
    body = text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = coErrorBodySchema.safeParse(body);
  return parsed.success ? parsed.data.error.code : undefined;
}

function required<T>(operation: ClientOnlineOperation, value: T | undefined): T {
  if (value === undefined) throw clientOnlineErrors.badResponse(operation, 200, 'empty answer');
  return value;
}

/** A client number as one path segment. */
function clientPath(clientNumber: string): string {
  return `${CO_API_PREFIX}/clients/${encodeURIComponent(clientNumber)}`;
}
