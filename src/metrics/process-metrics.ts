import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { observePortalCalls } from '../portals/call-observers';

// What this process itself did, as opposed to what the database says about the whole fleet
// (database-metrics.ts): the portal requests it sent, and Node's own process metrics. The portal
// clients are made deep inside the worker, so these are counted through the process-wide
// observer of src/portals/call-observers.ts rather than handed a registry.

export interface ProcessMetrics {
  registry: Registry;
}

let installed: ProcessMetrics | undefined;

/** The process's registry, made (and subscribed to the portal requests) on first use. */
export function processMetrics(): ProcessMetrics {
  if (installed) return installed;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const calls = new Counter({
    name: 'portal_sync_portal_calls_total',
    help: 'HTTP requests this process sent to a portal, by route (ids replaced by :id) and status (HTTP status, timeout or network)',
    labelNames: ['portal', 'method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'portal_sync_portal_call_duration_seconds',
    help: 'How long a portal took to answer a request (until its headers), by route',
    labelNames: ['portal', 'method', 'route'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  observePortalCalls((call) => {
    calls.inc({ portal: call.portal, method: call.method, route: call.route, status: call.status });
    duration.observe({ portal: call.portal, method: call.method, route: call.route }, call.durationSeconds);
  });
  installed = { registry };
  return installed;
}
