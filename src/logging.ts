import pino, { type DestinationStream, type Logger } from 'pino';

// Log lines must never carry personal data or secrets (domain.md, "Personal data"). Our own log
// calls pass record ids only; this is the net under them: whatever object reaches a log line, at
// any depth, loses the values of fields that can hold a name, a contact detail, an address, a BSN
// or a credential.
const sensitiveKey =
  /^(bsn|name|(first|last)_?name|infix|initials|address|phone|website|facebook|twitter|linkedin|password|authorization|cookie|token|api_?key)$|e_?mail|mobile|street|postcode|postal|city|country|secret|credential/i;

export const redacted = '[redacted]';

/** How deep a logged object is searched; deeper parts are dropped rather than searched. */
const maxDepth = 8;

/** A copy of `value` with the value of every sensitive field replaced, at any depth. */
export function redactPersonalData(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== 'object') return value;
  // Error messages are written by this service with record ids only; the err serializer reads them.
  if (value instanceof Date || value instanceof Error) return value;
  if (depth >= maxDepth) return '[too deep]';
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redactPersonalData(item, depth + 1, seen));
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    copy[key] = sensitiveKey.test(key) && field !== null && field !== undefined ? redacted : redactPersonalData(field, depth + 1, seen);
  }
  return copy;
}

// A type, not an interface: pino's and Fastify's serializer types ask for an index signature.
type LoggedError = {
  type: string;
  message: string;
  stack: string;
  code?: string;
  cause?: LoggedError;
};

/**
 * What a logged error keeps: type, message, stack, code and the same of its causes. Not the other
 * fields pino's own serializer would copy: the pg driver's `detail` and `where` quote the row's
 * values (a unique email, a name), a failure's `details` are whatever its thrower put there.
 */
export function loggedError(error: unknown, depth = 0): LoggedError {
  if (!(error instanceof Error)) return { type: typeof error, message: 'a non-error value was thrown', stack: '' };
  const code = (error as { code?: unknown }).code;
  return {
    type: error.name,
    message: error.message,
    stack: error.stack ?? '',
    ...(typeof code === 'string' ? { code } : {}),
    ...(error.cause !== undefined && depth < 5 ? { cause: loggedError(error.cause, depth + 1) } : {}),
  };
}

/** The service's logger: JSON lines at `level`, personal data and secrets redacted at any depth. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      formatters: { log: (object) => redactPersonalData(object) as Record<string, unknown> },
      serializers: { err: loggedError },
    },
    destination,
  );
}
