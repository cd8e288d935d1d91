import type { Db } from '../src/db';
import type { MasterRef } from '../src/domain/masters';
import { propagateMaster } from '../src/registry/masters';
import { withHeartbeats } from './heartbeat';

export interface PropagateInput {
  master: MasterRef;
  /** The newest master.updated event this run covers. */
  uptoEventId: number;
}

/** Counts only: workflow histories carry no personal data. */
export interface PropagationSummary {
  followers: number;
  changed: number;
}

export function createMasterActivities({ db }: { db: Db }) {
  return {
    /**
     * Copies the master's current private data to every follower that differs, in one
     * transaction, and announces each changed follower to its client's portals (outbox events).
     * Idempotent: a second run finds nothing to change.
     */
    async propagateMasterToFollowers({ master }: PropagateInput): Promise<PropagationSummary> {
      // One transaction: nothing to resume from, but a dead worker is noticed by its silence.
      const result = await withHeartbeats(() => propagateMaster(db, master));
      return { followers: result.followers, changed: result.changed.length };
    },
  };
}

export type MasterActivities = ReturnType<typeof createMasterActivities>;
