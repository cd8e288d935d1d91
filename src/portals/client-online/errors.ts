// Errors of the Client Online client. How they are built, and what a message may and may not say,
// is shared with the other portals: see ../http-errors.

import { PortalError, PortalErrors, type PortalOperation, type SharedPortalErrorCode } from '../http-errors';

export { retryAfterFrom } from '../http-errors';

/** The codes every portal has, and this one's own. */
export type ClientOnlineErrorCode = SharedPortalErrorCode | 'username-taken';

export class ClientOnlineError extends PortalError<ClientOnlineErrorCode> {
  override readonly name = 'ClientOnlineError';
}

/** The request as an error message may name it: method and path, no query string. */
export type ClientOnlineOperation = PortalOperation;

export const clientOnlineErrors = new PortalErrors<ClientOnlineErrorCode, ClientOnlineError>({
  label: 'Client Online',
  hints: {
    'username-taken':
      'another Client Online login already has this email as username (or was just created with this ref by a concurrent push)',
    'not-found': 'the client does not exist (any more) in Client Online',
    unauthorized: 'check the configured Client Online API key',
  },
  ErrorClass: ClientOnlineError,
  // Client Online answers 401 and 403 alike: unauthorized.
  forbidden: 'unauthorized',
});

/** Maps an HTTP error status to an error. */
export function clientOnlineHttpError(
  operation: ClientOnlineOperation,
  status: number,
  headers: Headers,
): ClientOnlineError {
  return clientOnlineErrors.http(operation, status, headers, { code: 'username-taken' });
}
