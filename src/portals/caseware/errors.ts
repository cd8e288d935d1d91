// Errors of the CaseWare Cloud client. A message names the operation (method and path, never the
// query string: a search can hold an email) and the kind of failure, and says what to do. It never
// carries the service's own error text, which may quote the personal data it refused.

export type CaseWareErrorCode =
  | 'duplicate-email'
  | 'invalid'
  | 'not-found'
  | 'unauthorized'
  | 'forbidden'
  | 'rate-limited'
  | 'server'
  | 'timeout'
  | 'network'
  | 'bad-response';

export class CaseWareError extends Error {
  override readonly name = 'CaseWareError';
  readonly code: CaseWareErrorCode;
  readonly status?: number;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;

  constructor(
    message: string,
    details: { code: CaseWareErrorCode; status?: number; retryable: boolean; retryAfterMs?: number },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = details.code;
    this.status = details.status;
    this.retryable = details.retryable;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** The request as an error message may name it: method and path, no query string. */
export interface CaseWareOperation {
  method: string;
  path: string;
}

const hints: Record<CaseWareErrorCode, string> = {
  'duplicate-email': 'another CaseWare Cloud user already has this email as login',
  invalid: 'the data breaks a CaseWare Cloud rule (required field, length or format)',
  'not-found': 'the record does not exist (any more) in CaseWare Cloud',
  unauthorized: 'check the configured CaseWare Cloud client id and secret',
  forbidden: 'the API client lacks the CaseWare Cloud permission for this',
  'rate-limited': 'CaseWare Cloud rate limit reached; retried later',
  server: 'CaseWare Cloud failed; retried later',
  timeout: 'CaseWare Cloud did not answer in time; retried later',
  network: 'CaseWare Cloud could not be reached; retried later',
  'bad-response': 'CaseWare Cloud answered in a shape this client does not know; check the API version',
};

function stripQuery(path: string): string {
  const at = path.search(/[?#]/);
  return at === -1 ? path : path.slice(0, at);
}

/** Maps an HTTP error status (after any token refresh) to an error. */
export function caseWareHttpError(
  operation: CaseWareOperation,
  status: number,
  headers: Headers,
  context: { conflictIsEmail: boolean },
): CaseWareError {
  const what = `${operation.method} ${stripQuery(operation.path)}`;
  const refused = (code: CaseWareErrorCode, hint = hints[code]) =>
    new CaseWareError(`CaseWare Cloud refused ${what} (${status} ${code}): ${hint}`, {
      code,
      status,
      retryable: false,
    });

  if (status === 400 || status === 422) return refused('invalid');
  if (status === 401) return refused('unauthorized');
  if (status === 403) return refused('forbidden');
  if (status === 404) return refused('not-found');
  if (status === 409) {
    // A conflict is a duplicate login on /users; elsewhere (an entity number) it is invalid data.
    return context.conflictIsEmail
      ? refused('duplicate-email')
      : refused('invalid', 'another CaseWare Cloud record already has this unique value');
  }
  if (status === 429) {
    const retryAfterMs = retryAfterFrom(headers);
    return new CaseWareError(
      `CaseWare Cloud refused ${what} (429 rate-limited): ${hints['rate-limited']} in ${retryAfterMs} ms`,
      { code: 'rate-limited', status, retryable: true, retryAfterMs },
    );
  }
  if (status === 408) {
    return new CaseWareError(`CaseWare Cloud timed out on ${what} (408 timeout): ${hints.timeout}`, {
      code: 'timeout',
      status,
      retryable: true,
    });
  }
  if (status >= 500) {
    return new CaseWareError(`CaseWare Cloud failed on ${what} (${status} server): ${hints.server}`, {
      code: 'server',
      status,
      retryable: true,
    });
  }
  return refused('invalid', `unexpected status ${status}`);
}

/** Retry-After in seconds or as a date; else the time the bucket needs for one token; else 1 s. */
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

/** Maps a failure of fetch itself (no HTTP answer) to an error. */
export function caseWareTransportError(operation: CaseWareOperation, error: unknown): CaseWareError {
  const what = `${operation.method} ${stripQuery(operation.path)}`;
  if (error instanceof CaseWareError) return error;
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new CaseWareError(`CaseWare Cloud did not answer ${what} in time (timeout): ${hints.timeout}`, {
      code: 'timeout',
      retryable: true,
    });
  }
  const reason = transportReason(error);
  return new CaseWareError(
    `CaseWare Cloud connection failed on ${what} (network${reason ? `: ${reason}` : ''}): ${hints.network}`,
    { code: 'network', retryable: true },
  );
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

/** An answer that is not JSON or not the documented shape. */
export function caseWareBadResponse(operation: CaseWareOperation, status: number, detail: string): CaseWareError {
  const what = `${operation.method} ${stripQuery(operation.path)}`;
  return new CaseWareError(
    `CaseWare Cloud answered ${what} unexpectedly (${status} bad-response: ${detail}): ${hints['bad-response']}`,
    { code: 'bad-response', status, retryable: false },
  );
}
