import type { Client } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Db } from '../db';
import { pruneSyncTables, type RetentionOptions } from './retention';
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
  /** How many workflows are signalled at once. */
  concurrency?: number;
  /** The longest wait before a workflow Temporal refused is tried again (the wait doubles up to it). */
  retryBackoffMaxMs?: number;
  /** Retention (src/outbox/retention.ts); absent: nothing is deleted. */
  retention?: RetentionOptions & { intervalMs: number };
}

interface ClaimedEvent {
  id: number;
  client_number: string;
  kind: string;
  record_type: 'client' | 'contact';
  record_id: number;
  /** The commit horizon of the claim (xid8 as text). */
  horizon: string;
}

/** Which workflow an event is for: a master's change goes to its propagation, the rest to the client's sync. */
interface Target {
  workflowId: string;
  start(temporal: Client, change: RegistryChange): Promise<unknown>;
}

/**
 * How long a claim lasts: longer than a batch takes to hand over (every workflow may take the
 * delivery timeout), so that two dispatchers rarely deliver the same event. A crashed dispatcher's
 * claim is taken over as soon as its listening connection is gone (the claim names its backend
 * pid), else when it expires. Delivering an event twice is harmless (see below).
 */
const claimMs = 120_000;

/** The longest an event Temporal took waits for the claim that marks it delivered. */
const markWithinMs = 1_000;

/**
 * Delivers outbox events to Temporal: signal-with-start of the client's workflow (or, for a
 * master's change, the master's propagation workflow), one signal per workflow per batch.
 *
 * Only events of finished transactions are delivered: those whose transaction id is below the
 * commit horizon, the oldest transaction still running. Every later event gets a transaction id at
 * or above it, so the horizon only grows and a transaction that commits late can never fall below
 * a horizon already signalled. The signal carries the horizon; a sync scheduled after it reads every
 * change below it (workflows/client-sync.ts).
 *
 * A batch is claimed in a short transaction (claimed_until, SKIP LOCKED, so several dispatchers
 * share the work), then handed over a few workflows at a time; a workflow Temporal refuses gets
 * its attempt and error recorded and is tried again after a backoff, without holding back the
 * others. Events stay in the outbox until Temporal has accepted them, so a Temporal outage delays
 * changes and loses none. A redelivered event is harmless: the workflow has nothing new to sync,
 * and its sync is idempotent.
 */
export class OutboxDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private failing = false;
  private nextPruneAt = 0;
  /** A round is under way (the timer is not armed). */
  private busy = false;
  /** A commit was announced while a round ran: go again at once. */
  private woken = false;
  private listener: pg.Client | undefined;
  /** The listening connection's backend pid: claims name it, so that they die with this dispatcher. */
  private listenerPid: number | null = null;
  /** Events Temporal took, to be marked delivered by the next claim's statement (one commit for both). */
  private delivered: number[] = [];

  constructor(private readonly options: DispatcherOptions) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
    void this.listen();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.listener?.end().catch(() => undefined);
    this.listener = undefined;
    await this.running;
    await this.markDelivered().catch((error: unknown) => this.options.log.warn({ err: errorSummary(error) }, 'outbox: delivered events not marked; they are delivered again'));
  }

  /**
   * Wakes at every commit that wrote outbox events (LISTEN outbox_events, see the migration), so a
   * change is handed over at once rather than at the next poll. The poll stays as the safety net:
   * a lost connection only slows delivery down to it, and it is made again.
   */
  private async listen(): Promise<void> {
    if (this.stopped || this.listener) return;
    const { connection } = (this.options.db.client as { config: { connection: pg.ClientConfig } }).config;
    const client = new pg.Client(connection);
    this.listener = client;
    const again = () => {
      if (this.listener !== client) return;
      this.listener = undefined;
      this.listenerPid = null;
      void client.end().catch(() => undefined);
      if (!this.stopped) setTimeout(() => void this.listen(), this.options.pollIntervalMs ?? 250).unref();
    };
    client.on('error', again);
    client.on('end', again);
    client.on('notification', () => this.wake());
    try {
      await client.connect();
      await client.query('listen outbox_events');
      const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
      if (this.listener === client) this.listenerPid = rows[0]?.pid ?? null;
      // What committed before the listener was there was announced to nobody.
      this.wake();
    } catch {
      again();
    }
  }

  private wake(): void {
    if (this.stopped) return;
    if (this.busy) {
      this.woken = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.busy = true;
      this.woken = false;
      const poll = this.options.pollIntervalMs ?? 250;
      this.running = this.round()
        .then((claimed) => {
          this.busy = false;
          // A full batch leaves more behind: go on at once. Otherwise the next commit wakes the
          // dispatcher, or the poll comes; either claim marks this round's events delivered (within
          // a second, however long the poll interval).
          const marksWait = this.delivered.length > 0 ? Math.min(poll, markWithinMs) : poll;
          this.schedule(claimed >= this.batchSize() || this.woken ? 0 : marksWait);
        })
        .catch((error: unknown) => {
          this.busy = false;
          this.options.log.error({ err: error }, 'outbox dispatch failed');
          this.schedule(poll);
        });
    }, delayMs);
  }

  private batchSize(): number {
    return this.options.batchSize ?? 200;
  }

  /** One round: retention when due, then one batch; answers how many events it claimed. */
  private async round(): Promise<number> {
    const { retention, db, log } = this.options;
    if (retention && Date.now() >= this.nextPruneAt) {
      this.nextPruneAt = Date.now() + retention.intervalMs;
      const pruned = await pruneSyncTables(db, retention);
      if (pruned.events + pruned.syncErrors > 0) log.info(pruned, 'retention: old outbox events and resolved sync errors deleted');
    }
    return this.deliverPending();
  }

  /** Delivers one batch; answers how many events it claimed. */
  async deliverPending(): Promise<number> {
    const events = await this.claim();
    if (events.length === 0) return 0;

    const byTarget = new Map<string, { target: Target; ids: number[] }>();
    for (const event of events) {
      const target = this.targetOf(event);
      const entry = byTarget.get(target.workflowId) ?? { target, ids: [] };
      entry.ids.push(event.id);
      byTarget.set(target.workflowId, entry);
    }
    // One horizon per claim: the statement that claimed the batch computed it.
    const horizon = Number(events[0]?.horizon);

    let failures = 0;
    await forEachConcurrently([...byTarget.values()], this.options.concurrency ?? 8, async ({ target, ids }) => {
      if (!(await this.handOver(target, { eventId: Math.max(...ids), horizon }, ids))) failures += 1;
    });
    if (failures === 0 && this.failing) this.options.log.info('Temporal takes changes again; outbox delivery resumed');
    this.failing = failures > 0;
    return events.length;
  }

  /**
   * Claims the oldest undelivered events of finished transactions, in a transaction of its own:
   * those nobody has claimed (by id), and those whose claim expired (a hand-over that failed and
   * waited out its backoff) or whose claimer's listening connection is gone (a dispatcher that
   * died: its worker was killed), each read through an index of its own, so
   * that events claimed and in flight are never walked past. The horizon is taken in the same
   * statement, so every claimed event lies below it. The same
   * statement marks the events of the rounds before that Temporal took: a round hands over and
   * the next one follows at once, so a change costs the outbox one commit, not two. Marks not
   * written (the statement failed) are kept for the next one.
   */
  private async claim(): Promise<ClaimedEvent[]> {
    const marked = this.delivered.splice(0);
    try {
      const { rows } = await this.options.db.raw<{ rows: ClaimedEvent[] }>(
        // A data-modifying WITH runs whether or not the statement reads it.
        `with marked as (
           update outbox_events set delivered_at = now(), claimed_until = null
            where id = any(:marked::bigint[])),
         fresh as (
           select id from outbox_events
            where delivered_at is null and claimed_until is null
              and xid < pg_snapshot_xmin(pg_current_snapshot())
            order by id
            limit :batchSize
            for update skip locked),
         expired as (
           select id from outbox_events
            where delivered_at is null and claimed_until is not null
              and (claimed_until < now() or claimed_by <> all(array(select pid from pg_stat_activity)))
              and id <> all(:marked::bigint[])
            order by claimed_until
            limit :batchSize
            for update skip locked)
         update outbox_events e set claimed_until = now() + make_interval(secs => :claimSeconds), claimed_by = :claimer::integer
          where e.id in (select id from fresh union all select id from expired)
          returning e.id, e.client_number, e.kind, e.record_type, e.record_id,
                    pg_snapshot_xmin(pg_current_snapshot())::text as horizon`,
        // A PostgreSQL array literal: knex would spread a list into several parameters.
        { claimSeconds: claimMs / 1000, batchSize: this.batchSize(), marked: `{${marked.join(',')}}`, claimer: this.listenerPid },
      );
      return rows;
    } catch (error) {
      this.delivered.unshift(...marked);
      throw error;
    }
  }

  /** Marks what Temporal took when no claim follows (the dispatcher stops). */
  private async markDelivered(): Promise<void> {
    const marked = this.delivered.splice(0);
    if (marked.length === 0) return;
    try {
      await this.options.db('outbox_events').whereIn('id', marked).update({ delivered_at: this.options.db.fn.now(), claimed_until: null });
    } catch (error) {
      this.delivered.unshift(...marked);
      throw error;
    }
  }

  /** Signals one workflow and records the outcome on its events; answers whether Temporal took it. */
  private async handOver(target: Target, change: RegistryChange, ids: number[]): Promise<boolean> {
    const { db, temporal, log } = this.options;
    try {
      await temporal.withDeadline(Date.now() + (this.options.deliveryTimeoutMs ?? 5_000), () => target.start(temporal, change));
    } catch (error) {
      // Temporal is unreachable or refuses this workflow: keep its events, try again after a
      // backoff that doubles with each attempt.
      const maxSeconds = (this.options.retryBackoffMaxMs ?? 5_000) / 1000;
      await db('outbox_events')
        .whereIn('id', ids)
        .increment('attempts', 1)
        .update({
          last_error: errorSummary(error),
          claimed_until: db.raw('now() + make_interval(secs => least(0.25 * power(2, attempts), ?))', [maxSeconds]),
        });
      if (!this.failing) log.warn({ workflowId: target.workflowId, err: errorSummary(error) }, 'Temporal did not take the change; it stays in the outbox');
      return false;
    }
    // Marked by the next claim, which follows at once; until then the claim keeps others off them.
    this.delivered.push(...ids);
    return true;
  }

  private targetOf(event: ClaimedEvent): Target {
    const { taskQueue, workflowIdleTimeoutMs: idleTimeout } = this.options;
    const clientNumber = event.client_number;
    const searchAttributes = new TypedSearchAttributes([{ key: clientNumberSearchAttribute, value: clientNumber }]);
    if (event.kind === 'master.updated') {
      const master = { type: event.record_type, id: event.record_id };
      const workflowId = masterWorkflowId(master);
      return {
        workflowId,
        start: (temporal, change) =>
          temporal.workflow.signalWithStart<typeof masterPropagationWorkflow, [RegistryChange]>('masterPropagationWorkflow', {
            workflowId,
            taskQueue,
            args: [{ master, idleTimeout }],
            signal: registryChangedSignal,
            signalArgs: [change],
            typedSearchAttributes: searchAttributes,
            staticSummary: `brings the followers of master ${master.type} ${master.id} to its private data`,
          }),
      };
    }
    const workflowId = clientWorkflowId(clientNumber);
    return {
      workflowId,
      start: (temporal, change) =>
        temporal.workflow.signalWithStart<typeof clientSyncWorkflow, [RegistryChange]>('clientSyncWorkflow', {
          workflowId,
          taskQueue,
          args: [{ clientNumber, idleTimeout }],
          signal: registryChangedSignal,
          signalArgs: [change],
          typedSearchAttributes: searchAttributes,
          staticSummary: `keeps client ${clientNumber} in step on CaseWare Cloud and Client Online`,
        }),
    };
  }
}

/**
 * Runs `work` on every item, at most `limit` at a time. Every item is worked on even when one
 * fails (a database error recording an outcome); the first failure is thrown at the end.
 */
async function forEachConcurrently<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const failures: unknown[] = [];
  const worker = async () => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await work(item).catch((error: unknown) => failures.push(error));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failures.length > 0) throw failures[0];
}

function errorSummary(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 500) : String(error).slice(0, 500);
}
