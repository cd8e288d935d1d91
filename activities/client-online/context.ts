import type { ClientOnlineActivityDeps } from './types';

export const portal = 'client_online' as const;

/** What every step of a Client Online sync depends on: the activities' dependencies and how long a login's lease lasts. */
export interface ClientOnlineContext extends ClientOnlineActivityDeps {
  leaseMs: number;
}

/**
 * How long a login's lease outlives the request timeout: a request we gave up on may still be
 * applied by the portal a little later, and another push of that login must not overtake it.
 */
const leaseGraceMs = 30_000;

export function clientOnlineContext(deps: ClientOnlineActivityDeps): ClientOnlineContext {
  const { clientOnline } = deps;
  // A call waits out 429s (answered at once) before the request that counts, which may take the
  // whole request timeout: the lease outlasts both.
  return { ...deps, leaseMs: (clientOnline.maxRateLimitWaitMs ?? 0) + clientOnline.requestTimeoutMs + leaseGraceMs };
}
