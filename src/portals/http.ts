import type { z } from 'zod';
import type { PortalOperation } from './http-errors';

// The JSON-over-HTTP transport the portal clients share: one request with a timeout, and the
// reading and validating of a successful answer. What a portal adds (auth, what a 404 or a 409
// means, retrying after a token refresh) stays in its client.

export type Query = Record<string, string | number>;

export interface JsonRequest extends PortalOperation {
  query?: Query;
  /** Sent as JSON. */
  body?: unknown;
  /**
   * Aborts the request besides its timeout, e.g. when Temporal cancels the activity attempt that
   * made it: an attempt given up on must not go on changing the portal while its retry runs.
   */
  signal?: AbortSignal;
}

/** How a portal turns a failed transport or an unreadable answer into its own error. */
export interface TransportErrors {
  transport(operation: PortalOperation, error: unknown): Error;
  badResponse(operation: PortalOperation, status: number, detail: string): Error;
}

export interface JsonTarget {
  /** Without a trailing slash; the request's path follows it. */
  baseUrl: string;
  /** Sent besides accept and content-type, e.g. the portal's auth. */
  headers: Record<string, string>;
  timeoutMs: number;
  errors: TransportErrors;
}

/** Sends one request; a failure of fetch itself (no HTTP answer) is thrown as the portal's error. */
export async function sendJson(target: JsonTarget, request: JsonRequest): Promise<Response> {
  const url = new URL(`${target.baseUrl}${request.path}`);
  for (const [name, value] of Object.entries(request.query ?? {})) url.searchParams.set(name, String(value));
  const headers: Record<string, string> = { accept: 'application/json', ...target.headers };
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  try {
    return await fetch(url, {
      method: request.method,
      headers,
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: request.signal ? AbortSignal.any([request.signal, AbortSignal.timeout(target.timeoutMs)]) : AbortSignal.timeout(target.timeoutMs),
    });
  } catch (error) {
    throw target.errors.transport(request, error);
  }
}

/** Drops an answer's body unread (an error answer: its text is never used). */
export async function discardBody(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}

/**
 * Reads a successful answer: its JSON, checked against `schema`; undefined when there is no schema
 * (the body is read all the same). A body cut off is a transport error; text that is not JSON, or
 * JSON of another shape, is a bad response.
 */
export async function readValidated<T>(
  errors: TransportErrors,
  operation: PortalOperation,
  response: Response,
  schema: z.ZodType<T> | undefined,
): Promise<T | undefined> {
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw errors.transport(operation, error);
  }
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
