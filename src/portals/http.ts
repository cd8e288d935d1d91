import { setTimeout as sleep } from 'node:timers/promises';
import type { z } from 'zod';
import { reportPortalCall, type PortalName } from './call-observers';
import { PortalError, retryAfterFrom, type PortalOperation } from './http-errors';

// The JSON-over-HTTP transport the portal clients share: one request with a timeout, waiting out
// a rate limit, and the reading and validating of a successful answer. What a portal adds (auth,
// what a 404 or a 409 means, retrying after a token refresh) stays in its client.

export type Query = Record<string, string | number>;

/**
 * The HTTP requests a client view has sent (e.g. for a reconcile's report): a GET is a read, any
 * other method a write. A request counts when it is sent, whatever comes back; one sent again
 * (after a 429, or with a renewed token) counts again.
 */
export interface PortalCallCounter {
  reads: number;
  writes: number;
}

export interface JsonRequest extends PortalOperation {
  query?: Query;
  /** Sent as JSON. */
  body?: unknown;
  /**
   * Aborts the request besides its timeout, e.g. when Temporal cancels the activity attempt that
   * made it: an attempt given up on must not go on changing the portal while its retry runs.
   */
  signal?: AbortSignal;
  /** Counts this request when it is sent. */
  counter?: PortalCallCounter;
}

/** How a portal turns a failed transport or an unreadable answer into its own error. */
export interface TransportErrors {
  transport(operation: PortalOperation, error: unknown): Error;
  badResponse(operation: PortalOperation, status: number, detail: string): Error;
}

/**
 * Admits requests at the pace the portal allows, across every worker of the fleet (see
 * src/sync/rate-gate.ts): resolves when this request may be sent, rejects when `signal` aborts.
 */
export interface RequestGate {
  admit(signal: AbortSignal | undefined): Promise<void>;
}

export interface JsonTarget {
  /** Which portal this is, for the observers of its calls (metrics). */
  portal: PortalName;
  /** Without a trailing slash; the request's path follows it. */
  baseUrl: string;
  /** Paces every request sent to this portal; none: sent at once. */
  gate?: RequestGate;
  /** Sent besides accept and content-type, e.g. the portal's auth. */
  headers: Record<string, string>;
  timeoutMs: number;
  errors: TransportErrors;
}

/**
 * What aborts a request: its timeout, or `signal` (an activity attempt Temporal cancelled).
 *
 * AbortSignal.any holds its sources weakly, and AbortSignal.timeout's timer holds its signal weakly
 * too, so on Node 20 the timeout can be garbage-collected before it fires: the request then hangs
 * until undici's own header timeout, five minutes (the chaos run met it: syncs and the offboarding
 * steps waiting on them stood still). A timer of our own keeps the timeout alive until it has fired.
 */
export function requestSignal(signal: AbortSignal | undefined, timeoutMs: number): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  if (!signal) return timeout;
  setTimeout(() => void timeout, timeoutMs + 1_000).unref();
  return AbortSignal.any([signal, timeout]);
}

/** Sends one request; a failure of fetch itself (no HTTP answer) is thrown as the portal's error. */
export async function sendJson(target: JsonTarget, request: JsonRequest): Promise<Response> {
  const url = new URL(`${target.baseUrl}${request.path}`);
  for (const [name, value] of Object.entries(request.query ?? {})) url.searchParams.set(name, String(value));
  const headers: Record<string, string> = { accept: 'application/json', ...target.headers };
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  if (target.gate) {
    try {
      await target.gate.admit(request.signal);
    } catch (error) {
      throw target.errors.transport(request, error);
    }
  }
  if (request.counter) {
    if (request.method === 'GET') request.counter.reads += 1;
    else request.counter.writes += 1;
  }
  const startedAt = performance.now();
  try {
    const response = await fetch(url, {
      method: request.method,
      headers,
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: requestSignal(request.signal, target.timeoutMs),
    });
    reportPortalCall(target.portal, request, response, startedAt);
    return response;
  } catch (error) {
    reportPortalCall(target.portal, request, error, startedAt);
    throw target.errors.transport(request, error);
  }
}

/** The most one call of a portal client waits for rate limits, unless configured otherwise. */
export const defaultMaxRateLimitWaitMs = 60_000;

// A portal that asks to be called again at once is still given a moment, so that a call never
// spins on 429 answers.
const minRateLimitWaitMs = 100;

/**
 * What one call of a client (one method call: all pages of a list, a token request it needed)
 * may still wait for rate limits. Each wait takes from it.
 */
export interface RateLimitBudget {
  leftMs: number;
}

/**
 * Sends a request, and when the portal answers 429, waits as long as it asks (retryAfterFrom:
 * Retry-After, or the token-bucket headers) and sends the same request again, until another answer
 * comes or the next wait would take more than the budget has left: then that 429 is the answer,
 * for the client to turn into its rate-limited error. `send` may also throw a rate-limited portal
 * error with its wait (a token request the client needed first, which met the limit): it is waited
 * out alike, or thrown once the budget is spent.
 *
 * Waiting here instead of failing the call is what keeps the calls that succeeded from being made
 * again: a failed call fails the activity, and Temporal's retry starts the whole sync over. A 429
 * says the portal did nothing with the request, so sending it again cannot do anything twice.
 * `signal` aborts a wait as it aborts a request, and the wait throws what an aborted request throws.
 */
export async function sendWaitingOutRateLimits(
  operation: PortalOperation,
  errors: TransportErrors,
  budget: RateLimitBudget,
  signal: AbortSignal | undefined,
  send: () => Promise<Response>,
): Promise<Response> {
  for (;;) {
    let waitMs: number;
    try {
      const response = await send();
      if (response.status !== 429) return response;
      waitMs = Math.max(minRateLimitWaitMs, retryAfterFrom(response.headers));
      if (waitMs > budget.leftMs) return response;
      await discardBody(response);
    } catch (error) {
      if (!(error instanceof PortalError) || error.code !== 'rate-limited' || error.retryAfterMs === undefined) throw error;
      waitMs = Math.max(minRateLimitWaitMs, error.retryAfterMs);
      if (waitMs > budget.leftMs) throw error;
    }
    budget.leftMs -= waitMs;
    try {
      await sleep(waitMs, undefined, { signal });
    } catch (error) {
      throw errors.transport(operation, error);
    }
  }
}

/** Drops an answer's body unread (an error answer: its text is never used). */
export async function discardBody(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}

/**
 * The most of an answer a client reads: a page of 100 records is a few hundred kilobytes, so an
 * answer past this is a broken service, and reading on would only use up the worker's memory.
 */
export const maxResponseBytes = 8 * 1024 * 1024;

class ResponseTooLargeError extends Error {}

/**
 * The body as text, at most `limit` bytes: past that (declared or as it arrives) it stops reading,
 * drops the connection and throws ResponseTooLargeError. A body that stalls is aborted with the
 * request's signal (its timeout), which makes the read throw.
 */
async function readText(response: Response, limit: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > limit) {
    await discardBody(response);
    throw new ResponseTooLargeError();
  }
  if (response.body === null) return '';
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw new ResponseTooLargeError();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The body as text for a client that reads it: at most maxResponseBytes, or the portal's
 * bad-response; cut off or stalled past the timeout, the portal's transport error.
 */
export async function readBody(errors: TransportErrors, operation: PortalOperation, response: Response, limit = maxResponseBytes): Promise<string> {
  try {
    return await readText(response, limit);
  } catch (error) {
    if (error instanceof ResponseTooLargeError) throw errors.badResponse(operation, response.status, `an answer larger than ${limit} bytes`);
    throw errors.transport(operation, error);
  }
}

/** JSON says so: application/json, or a type with a +json suffix. An answer without a type is let through to the parser. */
function isJsonType(contentType: string | null): boolean {
  if (contentType === null) return true;
  return /^application\/([a-z0-9.-]+\+)?json\s*(;|$)/i.test(contentType.trim());
}

/**
 * Reads a successful answer: its JSON, checked against `schema`; undefined when there is no schema
 * (the body is read all the same, within the size limit). A body cut off or stalled is a transport
 * error; an answer of another content type, too large, not JSON, or JSON of another shape, is a bad
 * response.
 */
export async function readValidated<T>(
  errors: TransportErrors,
  operation: PortalOperation,
  response: Response,
  schema: z.ZodType<T> | undefined,
  limit = maxResponseBytes,
): Promise<T | undefined> {
  const contentType = response.headers.get('content-type');
  if (schema !== undefined && !isJsonType(contentType)) {
    await discardBody(response);
    // The type without its parameters: never the body, which may quote personal data.
    throw errors.badResponse(operation, response.status, `content type ${(contentType ?? '').split(';')[0]?.trim().slice(0, 60)}, not JSON`);
  }
  const text = await readBody(errors, operation, response, limit);
  if (schema === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw errors.badResponse(operation, response.status, 'not JSON');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues[0]?.path.join('.') ?? '';
    throw errors.badResponse(operation, response.status, `unexpected shape${where ? ` at ${where}` : ''}`);
  }
  return parsed.data;
}
