import { createLookupCache } from './caseware/lookups';
import { syncClientToCaseWare } from './caseware/sync-client';
import type { CaseWareContext } from './caseware/context';
import type { CaseWareActivityDeps, SyncClientInput } from './caseware/types';

export type {
  CaseWareActivityDeps,
  CaseWarePort,
  CaseWareSyncProgress,
  CaseWareSyncSummary,
  CaseWareUserRef,
  SyncClientInput,
} from './caseware/types';

/** The CaseWare Cloud activities; the steps live in activities/caseware/, this only wires them. */
export function createCaseWareActivities(deps: CaseWareActivityDeps) {
  // One cache of role and group ids per worker, shared by all its syncs.
  const context: CaseWareContext = { ...deps, lookups: createLookupCache() };
  return {
    syncClientToCaseWare: (input: SyncClientInput) => syncClientToCaseWare(context, input),
  };
}

export type CaseWareActivities = ReturnType<typeof createCaseWareActivities>;
