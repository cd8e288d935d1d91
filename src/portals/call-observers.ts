import type { PortalOperation } from './http-errors';

// Who wants to know about every portal request (metrics): sendJson reports each request here once
// it has an answer or has failed. Observers get the request's shape only, never its query string
// (a search can hold an email) or a record's id: the route is the path with its ids replaced.

/** Which portal a request goes to; each client names its own on the targets it builds (src/portals/http.ts). */
export type PortalName = 'caseware' | 'clientOnline';

export interface PortalCall {
  portal: PortalName;
  method: string;
  /** The path with every segment that is not a fixed word of the API replaced by `:id`. */
  route: string;
  /** The HTTP status, or `timeout` / `network` when no answer came. */
  status: string;
  durationSeconds: number;
}

export type PortalCallObserver = (call: PortalCall) => void;

const observers = new Set<PortalCallObserver>();

/** Adds an observer of every portal request of this process; answers how to remove it again. */
export function observePortalCalls(observer: PortalCallObserver): () => void {
  observers.add(observer);
  return () => observers.delete(observer);
}

/** The fixed words of both portals' paths (src/portals/*\/client.ts); anything else is an id. */
const fixedSegments = new Set([
  'api',
  'v1',
  'auth',
  'token',
  'entities',
  'users',
  'roles',
  'groups',
  'clients',
  'role-assignments',
  'user-assignments',
  'file-requests',
  'reminders',
]);

export function routeOf(path: string): string {
  const at = path.search(/[?#]/);
  const bare = at === -1 ? path : path.slice(0, at);
  return bare
    .split('/')
    .map((segment) => (segment === '' || fixedSegments.has(segment) ? segment : ':id'))
    .join('/');
}

/** Called by sendJson; an observer that throws is ignored, it must never fail a portal call. */
export function reportPortalCall(portal: PortalName, request: PortalOperation, outcome: unknown, startedAt: number): void {
  if (observers.size === 0) return;
  const status =
    outcome instanceof Response
      ? String(outcome.status)
      : outcome instanceof Error && (outcome.name === 'TimeoutError' || outcome.name === 'AbortError')
        ? 'timeout'
        : 'network';
  const call: PortalCall = {
    portal,
    method: request.method,
    route: routeOf(request.path),
    status,
    durationSeconds: (performance.now() - startedAt) / 1000,
  };
  for (const observer of observers) {
    try {
      observer(call);
    } catch {
      // Metrics are never worth a failed sync.
    }
  }
}
