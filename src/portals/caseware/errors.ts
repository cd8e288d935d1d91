// Errors of the CaseWare Cloud client. How they are built, and what a message may and may not say,
// is shared with the other portals: see ../http-errors.

import { PortalError, PortalErrors, type PortalOperation, type SharedPortalErrorCode } from '../http-errors';

export { retryAfterFrom } from '../http-errors';

/** The codes every portal has, and this one's own. */
export type CaseWareErrorCode = SharedPortalErrorCode | 'duplicate-email' | 'forbidden';

export class CaseWareError extends PortalError<CaseWareErrorCode> {
  override readonly name = 'CaseWareError';
}

/** The request as an error message may name it: method and path, no query string. */
export type CaseWareOperation = PortalOperation;

export const caseWareErrors = new PortalErrors<CaseWareErrorCode, CaseWareError>({
  label: 'CaseWare Cloud',
  hints: {
    'duplicate-email': 'another CaseWare Cloud user already has this email as login',
    'not-found': 'the record does not exist (any more) in CaseWare Cloud',
    unauthorized: 'check the configured CaseWare Cloud client id and secret',
    forbidden: 'the API client lacks the CaseWare Cloud permission for this',
  },
  ErrorClass: CaseWareError,
  forbidden: 'forbidden',
});

/** Maps an HTTP error status (after any token refresh) to an error. */
export function caseWareHttpError(
  operation: CaseWareOperation,
  status: number,
  headers: Headers,
  context: { conflictIsEmail: boolean },
): CaseWareError {
  // A conflict is a duplicate login on /users; elsewhere (an entity number) it is invalid data.
  const conflict = context.conflictIsEmail
    ? { code: 'duplicate-email' as const }
    : { code: 'invalid' as const, hint: 'another CaseWare Cloud record already has this unique value' };
  return caseWareErrors.http(operation, status, headers, conflict);
}
