// Errors of the Client Online client. A message names the operation (method and path, never the
// query string) and the kind of failure, and says what to do. It never carries the service's own
// error text, which may quote the personal data it refused (an email, a name).

export type ClientOnlineErrorCode =
  | 'username-taken'
  | 'invalid'
  | 'not-found'
  | 'unauthorized'
  | 'rate-limited'
  | 'server'
  | 'timeout'
  | 'network'
  | 'bad-response';

export class ClientOnlineError extends Error {
  override readonly name = 'ClientOnlineError';
  readonly code: ClientOnlineErrorCode;
  readonly status?: number;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;

  constructor(
    message: string,
    details: { code: ClientOnlineErrorCode; status?: number; retryable: boolean; retryAfterMs?: number },
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
export interface ClientOnlineOperation {
  method: string;
  path: string;
}

const hints: Record<ClientOnlineErrorCode, string> = {
  'username-taken':
    'another Client Online login already has this email as username (or was just created with this ref by a concurrent push)',
  invalid: 'the data breaks a Client Online rule (required field, length or format)',
  'not-found': 'the client does not exist (any more) in Client Online',
  unauthorized: 'check the configured Client Online API key',
  'rate-limited': 'Client Online rate limit reached; retried later',
  server: 'Client Online failed; retried later',
  timeout: 'Client Online did not answer in time; retried later',
  network: 'Client Online could not be reached; retried later',
  'bad-response': 'Client Online answered in a shape this client does not know; check the API version',
};

function describe(operation: ClientOnlineOperation): string {
  const at = operation.path.search(/[?#]/);
  return `${operation.method} ${at === -1 ? operation.path : operation.path.slice(0, at)}`;
}

/** Maps an HTTP error status to an error. */
export function clientOnlineHttpError(
  operation: ClientOnlineOperation,
  status: number,
  headers: Headers,
): ClientOnlineError {
  const what = describe(operation);
  const refused = (code: ClientOnlineErrorCode, hint = hints[code]) =>
    new ClientOnlineError(`Client Online refused ${what} (${status} ${code}): ${hint}`, {
      code,
      status,
      retryable: false,
    });

  if (status === 400 || status === 422) return refused('invalid');
  if (status === 401 || status === 403) return refused('unauthorized');
  if (status === 404) return refused('not-found');
  if (status === 409) return refused('username-taken');
  if (status === 429) {
    const retryAfterMs = retryAfterFrom(headers);
    return new ClientOnlineError(
      `Client Online refused ${what} (429 rate-limited): ${hints['rate-limited']} in ${retryAfterMs} ms`,
      { code: 'rate-limited', status, retryable: true, retryAfterMs },
    );
  }
  if (status === 408) {
    return new ClientOnlineError(`Client Online timed out on ${what} (408 timeout): ${hints.timeout}`, {
      code: 'timeout',
      status,
      retryable: true,
    });
  }
  if (status >= 500) {
    return new ClientOnlineError(`Client Online failed on ${what} (${status} server): ${hints.server}`, {
      code: 'server',
      status,
      retryable: true,
    });
  }
  return refused('invalid', `unexpected status ${status}`);
}

/** Retry-After in seconds or as an HTTP date; 1 s when absent or unreadable. */
export function retryAfterFrom(headers: Headers, now = Date.now()): number {
  const retryAfter = headers.get('retry-after');
  if (retryAfter !== null && retryAfter.trim() !== '') {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  return 1000;
}

/** Maps a failure of fetch itself (no HTTP answer) to an error. */
export function clientOnlineTransportError(operation: ClientOnlineOperation, error: unknown): ClientOnlineError {
  if (error instanceof ClientOnlineError) return error;
  const what = describe(operation);
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new ClientOnlineError(`Client Online did not answer ${what} in time (timeout): ${hints.timeout}`, {
      code: 'timeout',
      retryable: true,
    });
  }
  const reason = transportReason(error);
  return new ClientOnlineError(
    `Client Online connection failed on ${what} (network${reason ? `: ${reason}` : ''}): ${hints.network}`,
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

/** An answer that is not JSON or not the expected shape. */
export function clientOnlineBadResponse(
  operation: ClientOnlineOperation,
  status: number,
  detail: string,
): ClientOnlineError {
  return new ClientOnlineError(
    `Client Online answered ${describe(operation)} unexpectedly (${status} bad-response: ${detail}): ${hints['bad-response']}`,
    { code: 'bad-response', status, retryable: false },
  );
}
