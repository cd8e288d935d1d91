// Errors of the Client Online client. How they are built, and what a message may and may not say,
// is shared with the other portals: see ../http-errors.

import { PortalError, PortalErrors, type PortalOperation, type SharedPortalErrorCode } from '../http-errors';

export { retryAfterFrom } from '../http-errors';

/**
 * The codes every portal has, and this one's own: a 409 is `username-taken` (another login has
 * the address: the record's problem) or `conflict` (a login of this push was created by a
 * concurrent push while it was processed: retrying finds it and succeeds).
 */
export type ClientOnlineErrorCode = SharedPortalErrorCode | 'username-taken' | 'conflict';

export class ClientOnlineError extends PortalError<ClientOnlineErrorCode> {
  override readonly name = 'ClientOnlineError';
}

/** The request as an error message may name it: method and path, no query string. */
export type ClientOnlineOperation = PortalOperation;

const conflictHint = 'a login of this push was created meanwhile by a concurrent push; retried';

export const clientOnlineErrors = new PortalErrors<ClientOnlineErrorCode, ClientOnlineError>({
  label: 'Client Online',
  hints: {
    'username-taken': 'another Client Online login already has this email as username',
    conflict: conflictHint,
    'not-found': 'the client does not exist (any more) in Client Online',
    unauthorized: 'check the configured Client Online API key',
  },
  ErrorClass: ClientOnlineError,
  // Client Online answers 401 and 403 alike: unauthorized.
  forbidden: 'unauthorized',
});

/**
 * Maps an HTTP error status to an error. `serviceCode` is the code of the service's error body
 * (`{ error: { code } }`), which tells the two kinds of 409 apart.
 */
export function clientOnlineHttpError(
  operation: ClientOnlineOperation,
  status: number,
  headers: Headers,
  serviceCode?: string,
): ClientOnlineError {
  if (status === 409 && serviceCode === 'conflict') {
    // The service's own rule: the loser of this race retries, finds the login, and no mail is sent.
    const path = operation.path.split(/[?#]/)[0] ?? '';
    return new ClientOnlineError(`Client Online refused ${operation.method} ${path} (409 conflict): ${conflictHint}`, {
      code: 'conflict',
      status,
      retryable: true,
    });
  }
  return clientOnlineErrors.http(operation, status, headers, { code: 'username-taken' });
}
