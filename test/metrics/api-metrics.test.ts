import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildApi } from '../../src/api/server';
import { DatabaseMetrics } from '../../src/metrics/database-metrics';
import { routeOf } from '../../src/portals/call-observers';
import { startTestStack, syncRanSince, type TestStack } from '../support/stack';
import { waitFor } from '../support/temporal';

// GET /metrics over real syncs (worker, dispatcher, Temporal, both portal simulators): Prometheus
// text with the outbox, latency, sync-error, portal-health and portal-call series, and nothing
// personal in it.

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function scrape(headers: Record<string, string> = {}): Promise<{ status: number; type: string | null; text: string }> {
  const response = await fetch(`${stack.services.apiUrl}/metrics`, { headers });
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

/** The value of one series, by name and the labels it must have; undefined when absent. */
function valueOf(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = match[2] ?? '';
    if (Object.entries(labels).every(([key, value]) => present.includes(`${key}="${value}"`))) return Number(match[3]);
  }
  return undefined;
}

describe('GET /metrics', () => {
  test('answers Prometheus text, without a token, with the outbox, sync and portal series after real syncs', async () => {
    const before = await scrape();
    expect(before.status).toBe(200);
    expect(before.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(valueOf(before.text, 'portal_sync_outbox_events_delivered_total')).toBe(0);

    const links = { caseware: true, clientOnline: true };
    expect((await stack.api('POST', '/clients', { clientNumber: '7701', kind: 'company', name: 'Metriek Zichtbaar B.V.', city: 'Zwolle', links })).status).toBe(201);
    // A contact without email: a missing-email sync error at both portals.
    expect((await stack.api('POST', '/clients/7701/contacts', { firstName: 'Mara', lastName: 'Telbaar', links })).status).toBe(201);
    await stack.settled('7701');
    await syncRanSince(stack, '7701', 'caseware');
    await syncRanSince(stack, '7701', 'clientOnline');

    // The latency of a write is seen by the first scrape after the sync has settled (2 s).
    const after = await waitFor(
      'a scrape that has seen both portals apply the writes',
      async () => {
        const { text } = await scrape();
        const seen = ['caseware', 'clientOnline'].every((portal) => (valueOf(text, 'portal_sync_sync_latency_seconds_count', { portal }) ?? 0) >= 2);
        return seen && text;
      },
      { timeoutMs: 15_000, intervalMs: 500 },
    );

    expect(valueOf(after, 'portal_sync_outbox_events_delivered_total')).toBeGreaterThanOrEqual(2);
    expect(valueOf(after, 'portal_sync_outbox_undelivered_events')).toBe(0);
    expect(valueOf(after, 'portal_sync_outbox_oldest_undelivered_age_seconds')).toBe(0);
    expect(valueOf(after, 'portal_sync_sync_latency_seconds_bucket', { portal: 'caseware', le: '+Inf' })).toBeGreaterThanOrEqual(2);
    expect(valueOf(after, 'portal_sync_sync_latency_seconds_sum', { portal: 'caseware' })).toBeLessThan(60);
    expect(valueOf(after, 'portal_sync_sync_errors_open', { portal: 'caseware', code: 'missing-email' })).toBe(1);
    expect(valueOf(after, 'portal_sync_sync_errors_open', { portal: 'clientOnline', code: 'missing-email' })).toBe(1);
    expect(valueOf(after, 'portal_sync_portal_healthy', { portal: 'caseware' })).toBe(1);
    expect(valueOf(after, 'portal_sync_metrics_database_up')).toBe(1);
    expect(valueOf(after, 'portal_sync_portal_calls_total', { portal: 'caseware', method: 'POST', route: '/entities', status: '201' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(after, 'portal_sync_portal_calls_total', { portal: 'clientOnline', method: 'PUT', route: '/api/v1/clients/:id' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(after, 'portal_sync_portal_call_duration_seconds_count', { portal: 'caseware', route: '/auth/token' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(after, 'process_cpu_seconds_total')).toBeGreaterThan(0);

    // Counts and codes only: no names, places, record ids or client numbers in routes.
    for (const personal of ['Metriek', 'Zwolle', 'Mara', 'Telbaar', '7701']) expect(after).not.toContain(personal);
    for (const route of after.matchAll(/route="([^"]*)"/g)) expect(route[1]).toMatch(/^(\/(api|v1|:id|[a-z-]+))*$/);
  });

  test('asks for a token of its own when METRICS_TOKEN is set', async () => {
    const token = 'metrics-token-0123456789';
    const api = await buildApi({ db: stack.database.db, apiToken: 'api-token-0123456789abc', metrics: { token } });
    try {
      expect((await api.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
      expect((await api.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer api-token-0123456789abc' } })).statusCode).toBe(401);
      const allowed = await api.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` } });
      expect(allowed.statusCode).toBe(200);
      expect(allowed.body).toContain('portal_sync_outbox_undelivered_events');
    } finally {
      await api.close();
    }
  });
});

describe('portal_sync_outbox_events_delivered_total', () => {
  test('counts the deliveries since the process started, those before its first scrape too; its HELP says so', async () => {
    const metrics = new DatabaseMetrics(stack.database.db);
    const links = { caseware: true, clientOnline: true };
    expect((await stack.api('POST', '/clients', { clientNumber: '7702', kind: 'company', name: 'Eerste Scrape B.V.', links })).status).toBe(201);
    await stack.settled('7702');
    // Delivered before the first scrape, and more than settleSeconds (2 s) ago.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await metrics.refresh();
    const text = await metrics.registry.metrics();
    expect(valueOf(text, 'portal_sync_outbox_events_delivered_total')).toBeGreaterThanOrEqual(1);
    expect(text).toContain(
      '# HELP portal_sync_outbox_events_delivered_total Outbox events handed to Temporal, by any dispatcher of the fleet, since this process started ' +
        '(a counter: it starts at 0 with the process; use rate() or increase())',
    );
  });
});

describe('portal call routes', () => {
  test('keep the fixed words of the path and replace ids and the query', () => {
    expect(routeOf('/entities/0c6f1f0e-93a5-4f3b-9d59-2f1f8b1a7d11/role-assignments')).toBe('/entities/:id/role-assignments');
    expect(routeOf('/api/v1/clients/1001')).toBe('/api/v1/clients/:id');
    expect(routeOf('/users?search=Email%3Danna%40example.test')).toBe('/users');
    expect(routeOf('/groups/g%201/user-assignments')).toBe('/groups/:id/user-assignments');
  });
});
