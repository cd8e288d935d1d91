import { condition, proxyLocalActivities, setHandler } from '@temporalio/workflow';
import { registryChangedSignal } from '../workflows/definitions';

// The `floor` section's workflows (bench/floor.ts): the least a registry change can cost Temporal
// in our design, without any of our own work. Bundled for the section's own worker only.

/** Stand-ins for the two portal syncs: they return at once (bench/floor-worker.ts). */
export interface FloorActivities {
  syncClientToCaseWare(): Promise<void>;
  syncClientToClientOnline(): Promise<void>;
}

const firstAttempts = proxyLocalActivities<FloorActivities>({ startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 1 } });

/**
 * A change as clientSyncWorkflow handles one for a client without a running workflow: started by
 * signal-with-start, both portals' first attempts as local activities in the one workflow task.
 * Then it finishes, where the real workflow waits for the next change.
 */
export async function floorSyncWorkflow(): Promise<void> {
  let changed = false;
  setHandler(registryChangedSignal, () => {
    changed = true;
  });
  await condition(() => changed);
  await Promise.all([firstAttempts.syncClientToCaseWare(), firstAttempts.syncClientToClientOnline()]);
}

/** The same start, no activities: what a workflow costs the SDK and the server by itself. */
export function floorBareWorkflow(): Promise<void> {
  setHandler(registryChangedSignal, () => undefined);
  return Promise.resolve();
}
