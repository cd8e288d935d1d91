import type { Client } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { Logger } from 'pino';
import type { Db } from '../db';
import type { clientSyncWorkflow } from '../../workflows/client-sync';
import { clientNumberSearchAttribute, clientWorkflowId, registryChangedSignal, type RegistryChange } from '../../workflows/definitions';

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
}

interface PendingEvent {
  id: number;
  client_number: string;
}

/**
 * Delivers outbox events to Temporal: signal-with-start of the client's workflow, one signal per
 * client per batch carrying the newest event id. Events stay in the outbox until Temporal has
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
    const { db, temporal, taskQueue, log } = this.options;
    return db.transaction(async (trx) => {
      // SKIP LOCKED: several dispatchers may run; each event is handed to one of them.
      const events = await trx<PendingEvent>('outbox_events')
        .whereNull('delivered_at')
        .orderBy('id')
        .limit(this.options.batchSize ?? 200)
        .forUpdate()
        .skipLocked()
        .select('id', 'client_number');
      if (events.length === 0) return 0;

      const byClient = new Map<string, number[]>();
      for (const event of events) {
        const ids = byClient.get(event.client_number) ?? [];
        ids.push(event.id);
        byClient.set(event.client_number, ids);
      }

      let delivered = 0;
      for (const [clientNumber, ids] of byClient) {
        const newest = Math.max(...ids);
        try {
          await temporal.workflow.signalWithStart<typeof clientSyncWorkflow, [RegistryChange]>('clientSyncWorkflow', {
            workflowId: clientWorkflowId(clientNumber),
            taskQueue,
            args: [{ clientNumber, idleTimeout: this.options.workflowIdleTimeoutMs }],
            signal: registryChangedSignal,
            signalArgs: [{ eventId: newest }],
            typedSearchAttributes: new TypedSearchAttributes([{ key: clientNumberSearchAttribute, value: clientNumber }]),
          });
        } catch (error) {
          // Temporal is unreachable or refuses: keep the events and try again on the next round.
          await trx('outbox_events').whereIn('id', ids).increment('attempts', 1).update({ last_error: errorSummary(error) });
          if (!this.failing) log.warn({ clientNumber, err: errorSummary(error) }, 'Temporal did not take the change; it stays in the outbox');
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
}

function errorSummary(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 500) : String(error).slice(0, 500);
}
