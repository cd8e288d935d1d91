// Errors of the CaseWare Cloud client. How they are built, and what a message may and may not say,
// is shared with the other portals: see ../http-errors.

import { PortalError, PortalErrors, type PortalOperation, type SharedPortalErrorCode } from '../http-errors';

export { retryAfterFrom } from '../http-errors';

/** The codes every portal has, and this one's own. */
export type CaseWareErrorCode = SharedPortalErrorCode | 'duplicate-email' | 'duplicate-number' | 'forbidden';

export class CaseWareError extends PortalError<CaseWareErrorCode> {
  override readonly name = 'CaseWareError';
}

/** The request as an error message may name it: method and path, no query string. */
export type CaseWareOperation = PortalOperation;

export const caseWareErrors = new PortalErrors<CaseWareErrorCode, CaseWareError>({
  label: 'CaseWare Cloud',
  hints: {
    'duplicate-email': 'another CaseWare Cloud user already has this email as login',
    'duplicate-number': 'another CaseWare Cloud entity already has this entity number',
    'not-found': 'the record does not exist (any more) in CaseWare Cloud',
    unauthorized: 'check the configured CaseWare Cloud client id and secret',
    forbidden: 'the API client lacks the CaseWare Cloud permission for this',
  },
  ErrorClass: CaseWareError,
  forbidden: 'forbidden',
});

/** What a 409 on a request means: the unique value it is about. */
export type CaseWareConflict = 'email' | 'entity-number' | 'other';

/** Maps an HTTP error status (after any token refresh) to an error. */
export function caseWareHttpError(
  operation: CaseWareOperation,
  status: number,
  headers: Headers,
  context: { conflict: CaseWareConflict },
): CaseWareError {
  // A conflict is a duplicate login on /users and a taken entity number on an entity; elsewhere it
  // is invalid data.
  const conflict =
    context.conflict === 'email'
      ? { code: 'duplicate-email' as const }
      : context.conflict === 'entity-number'
        ? { code: 'duplicate-number' as const }
        : { code: 'invalid' as const, hint: 'another CaseWare Cloud record already has this unique value' };
  return caseWareErrors.http(operation, status, headers, conflict);
}

/** The unique value a 409 on `path` is about: `/users...` an email, an entity (not its shares) its number. */
export function conflictOn(path: string): CaseWareConflict {
  if (path.startsWith('/users')) return 'email';
  if (/^\/entities(\/[^/]+)?$/.test(path)) return 'entity-number';
  return 'other';
}
