import { setTimeout as sleep } from 'node:timers/promises';
import type { CwEntity } from '../src/portals/caseware/api';
import type { CoClient } from '../src/portals/client-online/api';
import type { Db } from '../src/db';
import { updateClient } from '../src/registry/clients';
import {
  cpuDelta,
  cpuSnapshot,
  databaseCounters,
  databaseDelta,
  letRateLimitsRefill,
  portalCalls,
  portalCallsDelta,
  round,
  RssSampler,
  simHook,
  tableReads,
  tableReadsDelta,
  type BenchContext,
  type CallSummary,
  type CpuUse,
  type DatabaseUse,
  type TableReads,
} from './context';
import type { ProcessCpu } from './latency';
import type { SeededClient } from './seed';

// Section "bulk" (issue 19): a CRM mass update. Many distinct clients get a new city in one
// database transaction, each through the registry's own write (updateClient, which appends the
// client's outbox event), so the service meets them all at once at the commit. Measured: how long
// until each portal holds every edit, against what the portals' rate limits allow for the calls the
// service made (the target: at most twice calls ÷ rate limit).
//
// The city is carried by both portals (CaseWare's entity City, Client Online's client city), so
// each edit is one object to change in each. Held is seen as in the latency section: through
// /_sim/lookup, which spends no rate limit and is not counted as a call.

/**
 * How often the simulators are asked what they hold: every second, for more than 2 000 edits every
 * edits ÷ 2 000 s. A lookup costs the simulators and the benchmark CPU in proportion to the edits
 * still waiting, CPU the service needs on the same cores (asking for up to 10 000 records every
 * second took a sixth of the CPU the stack used in a 10 000-edit run). Grown with the edits, the
 * lookups cost about the same whatever the size, and the interval stays 2.5% of the time the target
 * allows for one call per edit (2 × edits ÷ 100/s).
 */
function pollMsFor(edits: number): number {
  return Math.max(1_000, edits / 2);
}
/** PostgreSQL 15 reports an idle backend's counters after 10 s (see databaseCounters). */
const statsSettleMs = 11_000;

type Portal = 'caseware' | 'clientOnline';

interface BulkEdit {
  client: SeededClient;
  city: string;
  /** When the benchmark first saw the portal hold the new city. */
  heldAt: Partial<Record<Portal, number>>;
}

/** Seconds after the commit at which 10%, 50%, 90% and all of the edits were through a stage (null: not within the wait). */
export type Progress = Record<'p10' | 'p50' | 'p90' | 'all', number | null>;

export interface BulkSection {
  edits: number;
  field: 'city';
  /** Outbox events the transaction appended: one per edit, as through the API. */
  outboxEvents: number;
  /** From the transaction's begin to its commit: the registry writes, one savepoint per client. */
  writeSeconds: number;
  pollMs: number;
  /** How long the benchmark waits after the commit before it gives up on the portals. */
  timeoutSeconds: number;
  /** From the commit until the dispatcher had handed every event to Temporal (null: not within the wait). */
  outboxDrainSeconds: number | null;
  /** From the commit until each portal, and both, held every edit (null: not within the wait). */
  heldSeconds: { caseware: number | null; clientOnline: number | null; both: number | null };
  /** Where the time went: when a share of the edits had left the outbox, and was held by each portal. */
  progress: { outbox: Progress; caseware: Progress; clientOnline: Progress };
  /** Edits a portal did not hold when the wait ended. */
  notHeld: { caseware: number; clientOnline: number };
  /** Calls at each simulator from the transaction's begin to the end of the wait. */
  simulatorCalls: { caseware: CallSummary; clientOnline: CallSummary };
  /** Every call the simulator counted (reads, writes and token requests: all take from its rate limit) per edit. */
  callsPerEdit: { caseware: number; clientOnline: number };
  bound: BulkBound;
  /** pg_stat_database of the bench database over the section (the dispatcher's idle polling included). */
  database: {
    delta: DatabaseUse;
    perEdit: Record<keyof DatabaseUse, number>;
    /** Rows read per table (sequential scans) and index over the section, most first: a table read whole per edit costs more the larger it is. */
    tables: TableReads;
  };
  /** CPU seconds while the transaction was written, and from its commit to the end of the wait. */
  cpu: { write: CpuUse; sync: CpuUse };
  /** CPU seconds per 1 000 edits over the whole section, write and sync; idle use not taken off (it is a few percent here). */
  cpuPer1000Edits: ProcessCpu;
  serviceMaxRssMiB: number;
}

/** The target: each portal holds every edit within twice the time its calls need at the rate limit. */
export interface BulkBound {
  perSecond: number;
  /** 2 × calls ÷ rate limit, per portal; both portals are served at once, so both's is the larger. */
  casewareSeconds: number;
  clientOnlineSeconds: number;
  bothSeconds: number;
  met: { caseware: boolean; clientOnline: boolean; both: boolean };
}

/** The edits: the first `count` seeded clients, each a city no earlier section gave it. */
function plannedEdits(seeded: readonly SeededClient[], count: number): BulkEdit[] {
  return seeded.slice(0, count).map((client, index) => ({ client, city: `Bulk ${index}`, heldAt: {} }));
}

/**
 * The mass update: one transaction, every client written by the registry's own updateClient. Inside
 * a transaction it runs as a savepoint, and appends the same outbox event as an edit through the API.
 */
async function commitMassUpdate(db: Db, edits: readonly BulkEdit[]): Promise<void> {
  await db.transaction(async (trx) => {
    for (const edit of edits) await updateClient(trx, edit.client.clientNumber, { city: edit.city });
  });
}

/** The highest outbox event id so far: the mass update's events are the ones above it. */
async function lastOutboxEventId(db: Db): Promise<number> {
  const row = await db('outbox_events').max<{ id: number | null }>('id as id').first();
  return row?.id ?? 0;
}

async function eventsSince(db: Db, afterId: number): Promise<number> {
  const [row] = await db('outbox_events').where('id', '>', afterId).count<{ n: string }[]>({ n: '*' });
  return Number(row?.n ?? 0);
}

async function undeliveredSince(db: Db, afterId: number): Promise<number> {
  const [row] = await db('outbox_events').where('id', '>', afterId).whereNull('delivered_at').count<{ n: string }[]>({ n: '*' });
  return Number(row?.n ?? 0);
}

/** What a simulator holds of these records (`/_sim/lookup`, e.g. `entities` by guid); nothing asked, nothing fetched. */
async function lookUp<T>(origin: string, kind: 'entities' | 'clients', keys: string[]): Promise<Record<string, T>> {
  if (keys.length === 0) return {};
  const found = await simHook<Partial<Record<typeof kind, Record<string, T>>>>(origin, 'POST', 'lookup', { [kind]: keys });
  return found[kind] ?? {};
}

/** Asks both simulators about the edits each does not hold yet, and marks those it now holds. */
async function markHeld(context: BenchContext, edits: readonly BulkEdit[]): Promise<void> {
  const waiting = (portal: Portal) => edits.filter((edit) => edit.heldAt[portal] === undefined);
  const cw = waiting('caseware');
  const co = waiting('clientOnline');
  const [entities, clients] = await Promise.all([
    lookUp<CwEntity>(context.simulators.caseware.origin, 'entities', cw.map((edit) => edit.client.entityGuid)),
    lookUp<CoClient>(context.simulators.clientOnline.origin, 'clients', co.map((edit) => edit.client.clientNumber)),
  ]);
  const now = Date.now();
  for (const edit of cw) if (entities[edit.client.entityGuid]?.City === edit.city) edit.heldAt.caseware = now;
  for (const edit of co) if (clients[edit.client.clientNumber]?.city === edit.city) edit.heldAt.clientOnline = now;
}

/** Seconds after `from` at which each milestone share of `total` was reached, from the times things got through. */
function progressOf(doneAt: readonly number[], total: number, from: number): Progress {
  const sorted = [...doneAt].sort((a, b) => a - b);
  const at = (share: number) => {
    const needed = Math.max(1, Math.ceil(share * total));
    return sorted.length >= needed ? round((sorted[needed - 1]! - from) / 1000, 1) : null;
  };
  return { p10: at(0.1), p50: at(0.5), p90: at(0.9), all: at(1) };
}

/**
 * Follows the mass update's outbox events (`events` of them, every id above `afterId`) to Temporal:
 * each look notes the events delivered since the last one at its own time.
 */
function outboxWatch(db: Db, outbox: { afterId: number; events: number }) {
  const deliveredAt: number[] = [];
  let undelivered = outbox.events;
  return {
    deliveredAt,
    delivered: () => outbox.events - undelivered,
    async look(): Promise<void> {
      if (undelivered === 0) return;
      const now = await undeliveredSince(db, outbox.afterId);
      for (let i = 0; i < undelivered - now; i += 1) deliveredAt.push(Date.now());
      undelivered = Math.min(undelivered, now);
    },
  };
}

/**
 * Looks every pollMs until both portals hold every edit, or the timeout, at the outbox and at the
 * portals. Logs progress every 30 s: a large run takes minutes.
 */
async function waitUntilHeld(
  context: BenchContext,
  edits: readonly BulkEdit[],
  outbox: ReturnType<typeof outboxWatch>,
  committedAt: number,
  times: { pollMs: number; timeoutMs: number },
): Promise<void> {
  const { pollMs, timeoutMs } = times;
  const held = (portal: Portal) => edits.filter((edit) => edit.heldAt[portal] !== undefined).length;
  const allHeld = () => held('caseware') === edits.length && held('clientOnline') === edits.length;
  let loggedAt = committedAt;
  while (!allHeld() && Date.now() - committedAt < timeoutMs) {
    const began = Date.now();
    await outbox.look();
    await markHeld(context, edits).catch((error: unknown) => context.log(`bulk: lookup failed: ${String(error)}`));
    if (Date.now() - loggedAt >= 30_000) {
      loggedAt = Date.now();
      context.log(
        `bulk: after ${Math.round((loggedAt - committedAt) / 1000)} s: handed to Temporal ${outbox.delivered()}, ` +
          `held by CaseWare ${held('caseware')}, by Client Online ${held('clientOnline')} of ${edits.length}`,
      );
    }
    await sleep(Math.max(0, pollMs - (Date.now() - began)));
  }
  await outbox.look();
}

function boundOf(calls: BulkSection['simulatorCalls'], held: BulkSection['heldSeconds'], perSecond: number): BulkBound {
  const seconds = (summary: CallSummary) => (2 * (summary.reads + summary.writes + summary.tokens)) / perSecond;
  const casewareSeconds = seconds(calls.caseware);
  const clientOnlineSeconds = seconds(calls.clientOnline);
  const bothSeconds = Math.max(casewareSeconds, clientOnlineSeconds);
  const within = (took: number | null, bound: number) => took !== null && took <= bound;
  return {
    perSecond,
    casewareSeconds: round(casewareSeconds, 1),
    clientOnlineSeconds: round(clientOnlineSeconds, 1),
    bothSeconds: round(bothSeconds, 1),
    met: { caseware: within(held.caseware, casewareSeconds), clientOnline: within(held.clientOnline, clientOnlineSeconds), both: within(held.both, bothSeconds) },
  };
}

/** When the outbox events were handed to Temporal and the edits held by each portal, from the commit on. */
function whereTheTimeWent(edits: readonly BulkEdit[], deliveredAt: readonly number[], events: number, committedAt: number) {
  const heldTimes = (portal: Portal) => edits.flatMap((edit) => (edit.heldAt[portal] === undefined ? [] : [edit.heldAt[portal]]));
  const bothTimes = edits.flatMap((edit) =>
    edit.heldAt.caseware === undefined || edit.heldAt.clientOnline === undefined ? [] : [Math.max(edit.heldAt.caseware, edit.heldAt.clientOnline)],
  );
  const progress = {
    outbox: progressOf(deliveredAt, events, committedAt),
    caseware: progressOf(heldTimes('caseware'), edits.length, committedAt),
    clientOnline: progressOf(heldTimes('clientOnline'), edits.length, committedAt),
  };
  return {
    progress,
    heldSeconds: { caseware: progress.caseware.all, clientOnline: progress.clientOnline.all, both: progressOf(bothTimes, edits.length, committedAt).all },
    notHeld: { caseware: edits.length - heldTimes('caseware').length, clientOnline: edits.length - heldTimes('clientOnline').length },
  };
}

const processKeys = ['service', 'extraWorkers', 'temporal', 'postgres', 'casewareSimulator', 'clientOnlineSimulator', 'bench'] as const;

function per1000(write: CpuUse, sync: CpuUse, edits: number): ProcessCpu {
  return Object.fromEntries(processKeys.map((key) => [key, round(((write[key] + sync[key]) * 1000) / edits)])) as ProcessCpu;
}

/**
 * The bulk section. Edits the first `count` seeded clients (at most all of them), waits at most
 * max(120 s, 10 × edits ÷ rate limit): five times what the target allows a service that makes one
 * call per edit per portal. What has not arrived by then is reported as not held.
 */
export async function bulkSection(context: BenchContext, seeded: readonly SeededClient[], options: { edits: number }): Promise<BulkSection> {
  const count = Math.min(options.edits, seeded.length);
  if (count < options.edits) context.log(`bulk: ${options.edits} edits asked for, but only ${seeded.length} clients are seeded: ${count} edits`);
  const edits = plannedEdits(seeded, count);
  const timeoutMs = Math.max(120_000, ((10 * count) / context.rateLimit.perSecond) * 1000);
  const pollMs = pollMsFor(count);

  await letRateLimitsRefill(context);
  context.log(`bulk: ${count} client cities changed in one transaction ...`);
  const outboxAfterId = await lastOutboxEventId(context.db);
  const db0 = await databaseCounters(context);
  const tables0 = await tableReads(context);
  const calls0 = await portalCalls(context);
  const rss = new RssSampler(context.service.pid).start();
  const cpu0 = cpuSnapshot(context);
  await commitMassUpdate(context.db, edits);
  const committedAt = Date.now();
  const cpuAtCommit = cpuSnapshot(context);
  const writeSeconds = round((committedAt - cpu0.at) / 1000, 1);
  context.log(`bulk: committed after ${writeSeconds} s; waiting up to ${timeoutMs / 1000} s for both portals to hold every edit ...`);

  // One event per client, as an API edit appends; counted rather than assumed.
  const outbox = { afterId: outboxAfterId, events: await eventsSince(context.db, outboxAfterId) };
  if (outbox.events !== count) context.log(`bulk: the mass update appended ${outbox.events} outbox events for ${count} edits`);
  const outboxWatcher = outboxWatch(context.db, outbox);
  await waitUntilHeld(context, edits, outboxWatcher, committedAt, { pollMs, timeoutMs });
  const cpuEnd = cpuSnapshot(context);
  const serviceMaxRssMiB = rss.stop();
  const simulatorCalls = portalCallsDelta(await portalCalls(context), calls0);

  const { progress, heldSeconds, notHeld } = whereTheTimeWent(edits, outboxWatcher.deliveredAt, outbox.events, committedAt);
  context.log(`bulk: CaseWare ${heldSeconds.caseware ?? 'NOT all'} s, Client Online ${heldSeconds.clientOnline ?? 'NOT all'} s; reading the database statistics ...`);

  await sleep(statsSettleMs);
  const delta = databaseDelta(await databaseCounters(context), db0);
  const tables = tableReadsDelta(await tableReads(context), tables0);
  // The portals may still be busy with what was not held in time; the next section starts on full buckets.
  await letRateLimitsRefill(context);

  const write = cpuDelta(cpuAtCommit, cpu0);
  const sync = cpuDelta(cpuEnd, cpuAtCommit);
  const allCalls = (summary: CallSummary) => summary.reads + summary.writes + summary.tokens;
  return {
    edits: count,
    field: 'city',
    outboxEvents: outbox.events,
    writeSeconds,
    pollMs,
    timeoutSeconds: timeoutMs / 1000,
    outboxDrainSeconds: progress.outbox.all,
    heldSeconds,
    progress,
    notHeld,
    simulatorCalls,
    callsPerEdit: { caseware: round(allCalls(simulatorCalls.caseware) / count, 3), clientOnline: round(allCalls(simulatorCalls.clientOnline) / count, 3) },
    bound: boundOf(simulatorCalls, heldSeconds, context.rateLimit.perSecond),
    database: { delta, perEdit: Object.fromEntries(Object.entries(delta).map(([k, v]) => [k, round(v / count, 1)])) as Record<keyof DatabaseUse, number>, tables },
    cpu: { write, sync },
    cpuPer1000Edits: per1000(write, sync, count),
    serviceMaxRssMiB,
  };
}
