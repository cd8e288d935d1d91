import type { Client } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { Logger } from 'pino';
import type { Db } from '../db';
import type { clientSyncWorkflow } from '../../workflows/client-sync';
import type { masterPropagationWorkflow } from '../../workflows/master-propagation';
import {
  clientNumberSearchAttribute,
  clientWorkflowId,
  masterWorkflowId,
  registryChangedSignal,
  type RegistryChange,
} from '../../workflows/definitions';

export interface DispatcherOptions {
  db: Db;
  temporal: Client;
  taskQueue: string;
  log: Logger;
  /** How often to look for new events; a write is delivered within about this long. */
  pollIntervalMs?: number;
  batchSize?: number;
  /** Passed to new client workflows; tests use a short one. */
  workflowIdleTimeoutMs?: number;
  /** How long one hand-over to Temporal may take before it counts as failed (and is tried again). */
  deliveryTimeoutMs?: number;
}

interface PendingEvent {
  id: number;
  client_number: string;
  kind: string;
  record_type: 'client' | 'contact';
  record_id: number;
}

/** Which workflow an event is for: a master's change goes to its propagation, the rest to the client's sync. */
interface Target {
  workflowId: string;
  start(temporal: Client, eventId: number): Promise<unknown>;
}

/**
 * Delivers outbox events to Temporal: signal-with-start of the client's workflow (or, for a
 * master's change, the master's propagation workflow), one signal per workflow per batch carrying
 * the newest event id. Events stay in the outbox until Temporal has
 * accepted them, so a Temporal outage delays changes and loses none. A redelivered event is
 * harmless: the workflow ignores event ids it has seen, and its sync is idempotent.
 */
export class OutboxDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private failing = false;

  constructor(private readonly options: DispatcherOptions) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.deliverPending()
        .then((delivered) => this.schedule(delivered > 0 ? 0 : this.options.pollIntervalMs ?? 250))
        .catch((error: unknown) => {
          this.options.log.error({ err: error }, 'outbox dispatch failed');
          this.schedule(this.options.pollIntervalMs ?? 250);
        });
    }, delayMs);
  }

  /** Delivers one batch; answers how many events Temporal accepted. */
  async deliverPending(): Promise<number> {
    const { db, temporal, log } = this.options;
    return db.transaction(async (trx) => {
      // SKIP LOCKED: several dispatchers may run; each event is handed to one of them.
      const events = await trx<PendingEvent>('outbox_events')
        .whereNull('delivered_at')
        .orderBy('id')
        .limit(this.options.batchSize ?? 200)
        .forUpdate()
        .skipLocked()
        .select('id', 'client_number', 'kind', 'record_type', 'record_id');
      if (events.length === 0) return 0;

      const byTarget = new Map<string, { target: Target; ids: number[] }>();
      for (const event of events) {
        const target = this.targetOf(event);
        const entry = byTarget.get(target.workflowId) ?? { target, ids: [] };
        entry.ids.push(event.id);
        byTarget.set(target.workflowId, entry);
      }

      let delivered = 0;
      for (const { target, ids } of byTarget.values()) {
        try {
          const newest = Math.max(...ids);
          await temporal.withDeadline(Date.now() + (this.options.deliveryTimeoutMs ?? 5_000), () => target.start(temporal, newest));
        } catch (error) {
          // Temporal is unreachable or refuses: keep the events and try again on the next round.
          await trx('outbox_events').whereIn('id', ids).increment('attempts', 1).update({ last_error: errorSummary(error) });
          if (!this.failing) log.warn({ workflowId: target.workflowId, err: errorSummary(error) }, 'Temporal did not take the change; it stays in the outbox');
          this.failing = true;
          return delivered;
        }
        await trx('outbox_events').whereIn('id', ids).update({ delivered_at: trx.fn.now() });
        delivered += ids.length;
      }
      if (this.failing) log.info('Temporal takes changes again; outbox delivery resumed');
      this.failing = false;
      return delivered;
    });
  }

  private targetOf(event: PendingEvent): Target {
    const { taskQueue, workflowIdleTimeoutMs: idleTimeout } = this.options;
    const clientNumber = event.client_number;
    const searchAttributes = new TypedSearchAttributes([{ key: clientNumberSearchAttribute, value: clientNumber }]);
    if (event.kind === 'master.updated') {
      const master = { type: event.record_type, id: event.record_id };
      const workflowId = masterWorkflowId(master);
      return {
        workflowId,
        start: (temporal, eventId) =>
          temporal.workflow.signalWithStart<typeof masterPropagationWorkflow, [RegistryChange]>('masterPropagationWorkflow', {
            workflowId,
            taskQueue,
            args: [{ master, idleTimeout }],
            signal: registryChangedSignal,
            signalArgs: [{ eventId }],
            typedSearchAttributes: searchAttributes,
          }),
      };
    }
    const workflowId = clientWorkflowId(clientNumber);
    return {
      workflowId,
      start: (temporal, eventId) =>
        temporal.workflow.signalWithStart<typeof clientSyncWorkflow, [RegistryChange]>('clientSyncWorkflow', {
          workflowId,
          taskQueue,
          args: [{ clientNumber, idleTimeout }],
          signal: registryChangedSignal,
          signalArgs: [{ eventId }],
          typedSearchAttributes: searchAttributes,
        }),
    };
  }
}

function errorSummary(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 500) : String(error).slice(0, 500);
}
