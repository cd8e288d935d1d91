import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import type { offboardingListResponseSchema, offboardingResponseSchema, dryRunResponseSchema, startedResponseSchema } from '../api/offboarding-schemas';
import type { mailApprovalResponseSchema, portalHeldResponseSchema, portalReleasedResponseSchema, syncHealthResponseSchema } from '../api/portal-schemas';
import type { reconcileRunDetailsSchema, reconcileRunSchema } from '../api/reconcile-schemas';
import type { clientSyncStatusResponseSchema, syncErrorListResponseSchema } from '../api/responses';
import { readLocalApiToken } from '../dev/api-token';
import { CliError, exitCodes } from './exit-codes';

/** A response as it crosses the wire: the API's own schema, with its dates as ISO strings. */
export type Wire<T> = T extends Date
  ? string
  : T extends readonly (infer U)[]
    ? Wire<U>[]
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

export type ClientSyncStatus = Wire<z.output<typeof clientSyncStatusResponseSchema>>;
export type SyncErrorList = Wire<z.output<typeof syncErrorListResponseSchema>>;
export type Offboarding = Wire<z.output<typeof offboardingResponseSchema>>;
export type OffboardingList = Wire<z.output<typeof offboardingListResponseSchema>>;
export type OffboardingDryRun = Wire<z.output<typeof dryRunResponseSchema>>;
export type OffboardingStarted = Wire<z.output<typeof startedResponseSchema>>;
export type ReconcileRun = Wire<z.output<typeof reconcileRunSchema>>;
export type ReconcileRunDetails = Wire<z.output<typeof reconcileRunDetailsSchema>>;
export type SyncHealth = Wire<z.output<typeof syncHealthResponseSchema>>;
export type PortalHeld = Wire<z.output<typeof portalHeldResponseSchema>>;
export type PortalReleased = Wire<z.output<typeof portalReleasedResponseSchema>>;
export type MailApproval = Wire<z.output<typeof mailApprovalResponseSchema>>;

export const defaultApiUrl = 'http://127.0.0.1:3000';

export interface ApiConnectionOptions {
  apiUrl: string;
  token?: string;
}

interface ApiErrorBody {
  error?: { code?: string; message?: string; issues?: { path: string; message: string }[] };
}

const requestTimeoutMs = 30_000;

/** API_TOKEN_FILE (a mounted secret): its content without surrounding white space; the message names the file, never a value. */
function tokenFromFile(file: string | undefined): string | undefined {
  if (file === undefined || file === '') return undefined;
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch (error) {
    throw new CliError(exitCodes.usage, `API_TOKEN_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
}

/**
 * The portal-sync HTTP API as the CLI uses it: the same routes and token as any script. Every
 * failure becomes a CliError whose exit code says what kind it was (src/cli/exit-codes.ts).
 */
export class PortalSyncApi {
  readonly baseUrl: string;
  private readonly token: string;

  constructor(options: ApiConnectionOptions, env: NodeJS.ProcessEnv = process.env) {
    this.baseUrl = apiBaseUrl(options.apiUrl);
    // --token and API_TOKEN arrive together through commander (the option reads the variable).
    const token = options.token ?? tokenFromFile(env.API_TOKEN_FILE) ?? readLocalApiToken(env.DATA_DIR ?? '.data');
    if (!token) {
      throw new CliError(
        exitCodes.usage,
        'no API token: pass --token, set API_TOKEN or API_TOKEN_FILE, or run where `portal-sync start` keeps it (DATA_DIR/api-token, default .data/api-token)',
      );
    }
    this.token = token;
  }

  get<T>(path: string, query: Record<string, string | number | boolean | undefined> = {}): Promise<T> {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) search.set(key, String(value));
    const suffix = search.size > 0 ? `?${search.toString()}` : '';
    return this.request<T>('GET', `${path}${suffix}`);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  put<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = `${this.baseUrl}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
    } catch (error) {
      throw new CliError(exitCodes.unavailable, `cannot reach the portal-sync API at ${this.baseUrl}: ${transportReason(error)}`);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new CliError(exitCodes.unavailable, `${this.baseUrl} did not answer ${method} ${path} like the portal-sync API (HTTP ${response.status}, not JSON)`);
    }
    if (response.ok) return parsed as T;
    throw apiRefusal(response.status, `${method} ${path}`, parsed as ApiErrorBody | undefined);
  }
}

function apiBaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(exitCodes.usage, `--api-url ${value} is not a URL (e.g. ${defaultApiUrl})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(exitCodes.usage, `--api-url ${value} is not an http(s) URL`);
  return url.toString().replace(/\/+$/, '');
}

/** Why a request did not get through, in the words of the system call (connection refused, ...). */
function transportReason(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${requestTimeoutMs / 1000} s`;
  }
  const cause = error instanceof Error ? error.cause : undefined;
  const code = typeof cause === 'object' && cause !== null && 'code' in cause ? String(cause.code) : undefined;
  const reasons: Record<string, string> = {
    ECONNREFUSED: 'connection refused (is it running? `portal-sync start` or `portal-sync api`)',
    ENOTFOUND: 'no such host',
    EHOSTUNREACH: 'host unreachable',
    ECONNRESET: 'the connection was reset',
  };
  if (code && reasons[code]) return reasons[code];
  const message = cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error);
  return code ? `${code}: ${message}` : message;
}

function apiRefusal(status: number, what: string, body: ApiErrorBody | undefined): CliError {
  const message = body?.error?.message ?? `HTTP ${status}`;
  // The API's message may already name each issue ("invalid request: body.dueDate: ..."): say each once.
  const issues = (body?.error?.issues ?? [])
    .map((issue) => `${issue.path}: ${issue.message}`)
    .filter((issue) => !message.includes(issue))
    .map((issue) => `\n  ${issue}`)
    .join('');
  if (status === 401) {
    return new CliError(exitCodes.usage, `the API refused the token (401): check --token, API_TOKEN or DATA_DIR/api-token`);
  }
  if (status === 404) return new CliError(exitCodes.notFound, `not found: ${message}`);
  if (status === 503) return new CliError(exitCodes.unavailable, `unavailable: ${message}`);
  if (status >= 400 && status < 500) return new CliError(exitCodes.usage, `refused (${status}): ${message}${issues}`);
  return new CliError(exitCodes.failed, `${what} failed (${status}): ${message}`);
}
