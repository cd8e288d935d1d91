import { ApplicationFailure } from '@temporalio/common';
import { expect, test } from 'vitest';
import { toActivityFailure } from '../../activities/failures';
import { CaseWareError } from '../../src/portals/caseware/errors';
import { ClientOnlineError } from '../../src/portals/client-online/errors';

// How portal errors reach Temporal's retry policy: the classification every activity relies on.

test('a rate limit is retried after the time the portal asks for', () => {
  for (const error of [
    new CaseWareError('CaseWare Cloud refused GET /users (429 rate-limited)', { code: 'rate-limited', status: 429, retryable: true, retryAfterMs: 3_000 }),
    new ClientOnlineError('Client Online refused PUT /api/v1/clients/1 (429 rate-limited)', { code: 'rate-limited', status: 429, retryable: true, retryAfterMs: 3_000 }),
  ]) {
    const failure = toActivityFailure(error);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ nonRetryable: false, nextRetryDelay: 3_000 });
  }
});

test('transport trouble is retried; rule violations are not', () => {
  const server = toActivityFailure(new CaseWareError('CaseWare Cloud failed on GET /roles (503 server)', { code: 'server', status: 503, retryable: true }));
  expect(server).toMatchObject({ type: 'CaseWare:server', nonRetryable: false });
  const taken = toActivityFailure(new ClientOnlineError('Client Online refused PUT /api/v1/clients/1 (409 username-taken)', { code: 'username-taken', status: 409, retryable: false }));
  expect(taken).toMatchObject({ type: 'ClientOnline:username-taken', nonRetryable: true });
});

test('other errors pass through unchanged, for Temporal to retry', () => {
  const error = new Error('connection terminated');
  expect(toActivityFailure(error)).toBe(error);
});
