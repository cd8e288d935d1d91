import type { SyncClientInput } from './caseware/types';
import { clientOnlineContext } from './client-online/context';
import { syncClientToClientOnline } from './client-online/sync-client';
import type { ClientOnlineActivityDeps } from './client-online/types';

export type { ClientOnlineActivityDeps, ClientOnlinePort, ClientOnlineSyncSummary } from './client-online/types';

/** The Client Online activities; the steps live in activities/client-online/, this only wires them. */
export function createClientOnlineActivities(deps: ClientOnlineActivityDeps) {
  const context = clientOnlineContext(deps);
  return {
    syncClientToClientOnline: (input: SyncClientInput) => syncClientToClientOnline(context, input),
  };
}

export type ClientOnlineActivities = ReturnType<typeof createClientOnlineActivities>;
