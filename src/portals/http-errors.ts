// What the portal clients share about failing: the error they throw, how an HTTP status, a failure
// of fetch itself or an unreadable answer becomes one, and how the message is built. A message
// names the operation (method and path, never the query string: a search can hold an email) and
// the kind of failure, and says what to do. It never carries the service's own error text, which
// may quote the personal data it refused (an email, a name).

/** The codes every portal's errors have; a portal adds its own (e.g. its meaning of 409). */
export type SharedPortalErrorCode =
  | 'invalid'
  | 'not-found'
  | 'unauthorized'
  | 'rate-limited'
  | 'server'
  | 'timeout'
  | 'network'
  | 'bad-response';

/**
 * What a failure is about. `record`: the portal refused this record's data (invalid, not found, a
 * conflict); retrying cannot help, it becomes the record's sync error. `portal`: the portal cannot be
 * used at all (credentials or permissions refused after the client's own renewal, answers it cannot
 * read); it says nothing about the record, so it is retried until an operator fixes the cause.
 * `transient`: trouble that passes by itself (5xx, timeouts, dropped connections, rate limits).
 */
export type PortalErrorScope = 'record' | 'portal' | 'transient';

export interface PortalErrorDetails<Code extends string> {
  code: Code;
  status?: number;
  retryable: boolean;
  /** Default: `transient` when retryable, else `record`. */
  scope?: PortalErrorScope;
  retryAfterMs?: number;
}

/**
 * A failure of a portal call. Each portal has its own subclass (and `name`) with its own code
 * union, so that callers can tell the portals apart with `instanceof`.
 */
export abstract class PortalError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly status?: number;
  readonly retryable: boolean;
  readonly scope: PortalErrorScope;
  readonly retryAfterMs?: number;

  constructor(message: string, details: PortalErrorDetails<Code>, options?: { cause?: unknown }) {
    super(message, options);
    this.code = details.code;
    this.status = details.status;
    this.retryable = details.retryable;
    this.scope = details.scope ?? (details.retryable ? 'transient' : 'record');
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** The request as an error message may name it: method and path, no query string. */
export interface PortalOperation {
  method: string;
  path: string;
}

/** What a 409 means on this request: the portal's code for it, and a hint when not the code's own. */
export interface ConflictMeaning<Code extends string> {
  code: Code;
  hint?: string;
}

/** The hints that read the same for every portal, but for its name. */
function sameHints(label: string) {
  return {
    invalid: `the data breaks a ${label} rule (required field, length or format)`,
    'rate-limited': `${label} rate limit reached; retried later`,
    server: `${label} failed; retried later`,
    timeout: `${label} did not answer in time; retried later`,
    network: `${label} could not be reached; retried later`,
    'bad-response': `${label} answered in a shape this client does not know; check the API version`,
  } satisfies Partial<Record<SharedPortalErrorCode, string>>;
}

export interface PortalErrorsOptions<Code extends string, E extends PortalError<Code | SharedPortalErrorCode>> {
  /** The portal as messages name it, e.g. "CaseWare Cloud". */
  label: string;
  /** What to do, per code, where it is the portal's own to say (the others: sameHints). */
  hints: Record<Exclude<Code | SharedPortalErrorCode, keyof ReturnType<typeof sameHints>>, string>;
  /** The portal's error class. */
  ErrorClass: new (message: string, details: PortalErrorDetails<Code | SharedPortalErrorCode>) => E;
  /** The code of a 403: a portal without a permission model of its own calls it unauthorized. */
  forbidden: Code | SharedPortalErrorCode;
}

/** Builds one portal's errors. */
export class PortalErrors<Code extends string, E extends PortalError<Code | SharedPortalErrorCode>> {
  /** What to do, per code. */
  private readonly hints: Record<Code | SharedPortalErrorCode, string>;

  constructor(private readonly portal: PortalErrorsOptions<Code, E>) {
    this.hints = { ...sameHints(portal.label), ...portal.hints } as Record<Code | SharedPortalErrorCode, string>;
  }

  /** A refusal of the record's data that retrying will not change. */
  refused(operation: PortalOperation, status: number, code: Code | SharedPortalErrorCode, hint = this.hints[code]): E {
    return this.create(`refused ${describe(operation)} (${status} ${code}): ${hint}`, { code, status, retryable: false, scope: 'record' });
  }

  /**
   * A refusal of the service itself (credentials, permissions): retried, so that the record stays
   * pending and syncs by itself once an operator has fixed the cause.
   */
  refusedService(operation: PortalOperation, status: number, code: Code | SharedPortalErrorCode): E {
    return this.create(`refused ${describe(operation)} (${status} ${code}): ${this.hints[code]}`, {
      code,
      status,
      retryable: true,
      scope: 'portal',
    });
  }

  /** Maps an HTTP error status (after any protocol of the client's own, e.g. a token refresh). */
  http(operation: PortalOperation, status: number, headers: Headers, conflict: ConflictMeaning<Code | SharedPortalErrorCode>): E {
    const { hints } = this;
    const what = describe(operation);
    if (status === 400 || status === 422) return this.refused(operation, status, 'invalid');
    if (status === 401) return this.refusedService(operation, status, 'unauthorized');
    if (status === 403) return this.refusedService(operation, status, this.portal.forbidden);
    if (status === 404) return this.refused(operation, status, 'not-found');
    if (status === 409) return this.refused(operation, status, conflict.code, conflict.hint);
    if (status === 429) {
      const retryAfterMs = retryAfterFrom(headers);
      return this.create(`refused ${what} (429 rate-limited): ${hints['rate-limited']} in ${retryAfterMs} ms`, {
        code: 'rate-limited',
        status,
        retryable: true,
        scope: 'transient',
        retryAfterMs,
      });
    }
    if (status === 408) {
      return this.create(`timed out on ${what} (408 timeout): ${hints.timeout}`, { code: 'timeout', status, retryable: true, scope: 'transient' });
    }
    if (status >= 500) {
      return this.create(`failed on ${what} (${status} server): ${hints.server}`, { code: 'server', status, retryable: true, scope: 'transient' });
    }
    return this.refused(operation, status, 'invalid', `unexpected status ${status}`);
  }

  /** Maps a failure of fetch itself (no HTTP answer, or an answer cut off) to an error. */
  transport(operation: PortalOperation, error: unknown): E {
    if (error instanceof this.portal.ErrorClass) return error;
    const { hints } = this;
    const what = describe(operation);
    if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
      return this.create(`did not answer ${what} in time (timeout): ${hints.timeout}`, { code: 'timeout', retryable: true, scope: 'transient' });
    }
    const reason = transportReason(error);
    return this.create(`connection failed on ${what} (network${reason ? `: ${reason}` : ''}): ${hints.network}`, {
      code: 'network',
      retryable: true,
      scope: 'transient',
    });
  }

  /** An answer that is not JSON or not the expected shape: the portal's fault (or a new API version), not the record's. */
  badResponse(operation: PortalOperation, status: number, detail: string): E {
    return this.create(
      `answered ${describe(operation)} unexpectedly (${status} bad-response: ${detail}): ${this.hints['bad-response']}`,
      { code: 'bad-response', status, retryable: true, scope: 'portal' },
    );
  }

  /** `what` follows the portal's label: "CaseWare Cloud refused ...". */
  private create(what: string, details: PortalErrorDetails<Code | SharedPortalErrorCode>): E {
    return new this.portal.ErrorClass(`${this.portal.label} ${what}`, details);
  }
}

/** Method and path, without the query string or fragment. */
function describe(operation: PortalOperation): string {
  const at = operation.path.search(/[?#]/);
  return `${operation.method} ${at === -1 ? operation.path : operation.path.slice(0, at)}`;
}

/**
 * Retry-After in seconds or as an HTTP date; else the time a token bucket needs for one token
 * (x-ratelimit-replenish-rate, as CaseWare Cloud sends it); else 1 s.
 */
export function retryAfterFrom(headers: Headers, now = Date.now()): number {
  const retryAfter = headers.get('retry-after');
  if (retryAfter !== null && retryAfter.trim() !== '') {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const replenishPerSecond = Number(headers.get('x-ratelimit-replenish-rate'));
  if (Number.isFinite(replenishPerSecond) && replenishPerSecond > 0) return Math.ceil(1000 / replenishPerSecond);
  return 1000;
}

/** A system error code such as ECONNRESET; never a free-text message, which may name the host. */
function transportReason(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z0-9_]+$/.test(code)) return code;
    current = current.cause;
  }
  return undefined;
}
