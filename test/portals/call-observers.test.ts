import { describe, expect, test } from 'vitest';
import { observePortalCalls, reportPortalCall, type PortalCall } from '../../src/portals/call-observers';

// The route label of portal_sync_portal_calls_total: each of CaseWare Cloud's paths keeps its own
// words, so a file request's GET and POST are told apart from an entity's.

function routesOf(requests: { method: string; path: string }[]): string[] {
  const calls: PortalCall[] = [];
  const stop = observePortalCalls((call) => calls.push(call));
  try {
    for (const request of requests) reportPortalCall('caseware', request, new Response(null, { status: 200 }), performance.now());
  } finally {
    stop();
  }
  return calls.map((call) => `${call.method} ${call.route}`);
}

describe('portal call routes', () => {
  test("name CaseWare's file-request calls by their path, with the request's guid as :id", () => {
    expect(
      routesOf([
        { method: 'POST', path: '/file-requests' },
        { method: 'GET', path: '/file-requests/0f6c2d9e-1111-4a4a-9b9b-123456789abc' },
        { method: 'GET', path: '/file-requests?$filter=ExternalRef%20eq%20%27fr-7%27' },
        { method: 'PATCH', path: '/file-requests/0f6c2d9e-1111-4a4a-9b9b-123456789abc' },
        { method: 'POST', path: '/file-requests/0f6c2d9e-1111-4a4a-9b9b-123456789abc/reminders' },
        { method: 'GET', path: '/entities/42' },
      ]),
    ).toEqual([
      'POST /file-requests',
      'GET /file-requests/:id',
      'GET /file-requests',
      'PATCH /file-requests/:id',
      'POST /file-requests/:id/reminders',
      'GET /entities/:id',
    ]);
  });
});
