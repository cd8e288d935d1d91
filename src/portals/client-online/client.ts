import type { z } from 'zod';
import {
  CO_API_KEY_HEADER,
  CO_API_PREFIX,
  CO_FIRST_PAGE,
  CO_MAX_PAGE_SIZE,
  coClientPageSchema,
  coClientSchema,
  type CoClient,
  type CoClientPush,
} from './api';
import {
  clientOnlineBadResponse,
  clientOnlineHttpError,
  clientOnlineTransportError,
  type ClientOnlineOperation,
} from './errors';

export type { CoClient, CoClientKind, CoClientPush, CoUser, CoUserPush } from './api';
export { ClientOnlineError, type ClientOnlineErrorCode } from './errors';

export interface ClientOnlineClientOptions {
  /** The service's origin (or a prefix before `/api/v1`). */
  baseUrl: string;
  apiKey: string;
  /** Per HTTP request. Default 10 000 ms. */
  requestTimeoutMs?: number;
  /** Page size for lists. Default (and the service's maximum): 100. */
  pageSize?: number;
}

interface RequestSpec<T> extends ClientOnlineOperation {
  method: 'GET' | 'PUT' | 'DELETE';
  query?: Record<string, string | number>;
  body?: unknown;
  /** Schema of the answer; undefined when the answer carries no body we use. */
  schema?: z.ZodType<T>;
}

/** What came back: a value, or the 404 the caller asked to see instead of an error. */
type Outcome<T> = { found: true; value: T | undefined } | { found: false };

// A list whose total never comes within reach is a broken service; stop rather than loop forever.
const maxPages = 10_000;

/**
 * Client Online (PinkWeb). Every failure is thrown as a ClientOnlineError; nothing is retried
 * here: Temporal's activity retry policies do the retrying, using `retryable` and `retryAfterMs`.
 */
export class ClientOnlineClient {
  private readonly baseUrl: string;
  private readonly apiKey: string;
  private readonly requestTimeoutMs: number;
  private readonly pageSize: number;

  constructor(options: ClientOnlineClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.apiKey = options.apiKey;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.pageSize = Math.min(Math.max(1, Math.floor(options.pageSize ?? CO_MAX_PAGE_SIZE)), CO_MAX_PAGE_SIZE);
  }

  /**
   * Replaces the client and its users with `body`. Users whose `ref` Client Online has never seen
   * become new logins, and Client Online mails each of them credentials; users pushed earlier and
   * missing now lose this client. Answers the client as stored.
   */
  async pushClient(clientNumber: string, body: CoClientPush): Promise<CoClient> {
    const spec = { method: 'PUT', path: clientPath(clientNumber), body, schema: coClientSchema } as const;
    const outcome = await this.request(spec);
    return required(spec, outcome.found ? outcome.value : undefined);
  }

  /** The client as stored, or undefined when Client Online does not have it. */
  async getClient(clientNumber: string): Promise<CoClient | undefined> {
    const spec = { method: 'GET', path: clientPath(clientNumber), schema: coClientSchema } as const;
    const outcome = await this.request(spec, { notFoundIsAnswer: true });
    return outcome.found ? required(spec, outcome.value) : undefined;
  }

  /**
   * Deletes the client; its logins lose access to it, and logins left without any client are
   * deleted. True when it was deleted, false when it was not there (idempotent).
   */
  async deleteClient(clientNumber: string): Promise<boolean> {
    const outcome = await this.request({ method: 'DELETE', path: clientPath(clientNumber) }, { notFoundIsAnswer: true });
    return outcome.found;
  }

  /** Every client, page by page. */
  async listClients(): Promise<CoClient[]> {
    const path = `${CO_API_PREFIX}/clients`;
    const all: CoClient[] = [];
    for (let page = CO_FIRST_PAGE; page < CO_FIRST_PAGE + maxPages; page += 1) {
      const spec = { method: 'GET', path, query: { page, pageSize: this.pageSize }, schema: coClientPageSchema } as const;
      const outcome = await this.request(spec);
      const answer = required(spec, outcome.found ? outcome.value : undefined);
      all.push(...answer.items);
      if (answer.items.length === 0 || all.length >= answer.total) return all;
    }
    throw clientOnlineBadResponse({ method: 'GET', path }, 200, `more than ${maxPages} pages`);
  }

  // ----- transport -----------------------------------------------------------------------------

  private async request<T>(spec: RequestSpec<T>, options: { notFoundIsAnswer?: boolean } = {}): Promise<Outcome<T>> {
    const response = await this.send(spec);
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      if (response.status === 404 && options.notFoundIsAnswer) return { found: false };
      throw clientOnlineHttpError(spec, response.status, response.headers);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw clientOnlineTransportError(spec, error);
    }
    if (spec.schema === undefined) return { found: true, value: undefined };
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw clientOnlineBadResponse(spec, response.status, 'not JSON');
    }
    const parsed = spec.schema.safeParse(json);
    if (!parsed.success) {
      const where = parsed.error.issues[0]?.path.join('.') ?? '';
      throw clientOnlineBadResponse(spec, response.status, `unexpected shape${where ? ` at ${where}` : ''}`);
    }
    return { found: true, value: parsed.data };
  }

  private async send(spec: RequestSpec<unknown>): Promise<Response> {
    const url = new URL(`${this.baseUrl}${spec.path}`);
    for (const [name, value] of Object.entries(spec.query ?? {})) url.searchParams.set(name, String(value));
    const headers: Record<string, string> = { accept: 'application/json', [CO_API_KEY_HEADER]: this.apiKey };
    if (spec.body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await fetch(url, {
        method: spec.method,
        headers,
        body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
    } catch (error) {
      throw clientOnlineTransportError(spec, error);
    }
  }
}

function required<T>(operation: ClientOnlineOperation, value: T | undefined): T {
  if (value === undefined) throw clientOnlineBadResponse(operation, 200, 'empty answer');
  return value;
}

/** A client number as one path segment. */
function clientPath(clientNumber: string): string {
  return `${CO_API_PREFIX}/clients/${encodeURIComponent(clientNumber)}`;
}
