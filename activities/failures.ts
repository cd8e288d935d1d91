import { ApplicationFailure } from '@temporalio/common';
import { CaseWareError } from '../src/portals/caseware/errors';
import { ClientOnlineError } from '../src/portals/client-online/errors';

/**
 * Classifies an error for Temporal's retry policy: transport trouble and rate limits are retried
 * (a rate limit after the time the portal asks for), rule violations are not. Messages carry ids
 * only, never personal data.
 */
export function toActivityFailure(error: unknown): unknown {
  if (error instanceof ApplicationFailure) return error;
  if (error instanceof CaseWareError || error instanceof ClientOnlineError) {
    return ApplicationFailure.create({
      message: error.message,
      type: `${error instanceof CaseWareError ? 'CaseWare' : 'ClientOnline'}:${error.code}`,
      nonRetryable: !error.retryable,
      nextRetryDelay: error.retryAfterMs,
    });
  }
  return error;
}
