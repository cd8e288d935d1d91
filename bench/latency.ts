import { setTimeout as sleep } from 'node:timers/promises';
import { mulberry32 } from '../src/simulators/caseware/simulator';
import type { CwEntity, CwUser } from '../src/portals/caseware/api';
import type { CoClient } from '../src/portals/client-online/api';
import {
  api,
  cpuDelta,
  cpuSnapshot,
  databaseCounters,
  databaseDelta,
  letRateLimitsRefill,
  percentile,
  portalCalls,
  portalCallsDelta,
  round,
  RssSampler,
  simHook,
  type BenchContext,
  type CallSummary,
  type CpuUse,
  type DatabaseUse,
} from './context';
import { countHistories, perChange, type WorkflowTimings } from './history';
import type { SeededClient } from './seed';

// Section 2 (and the per-change costs of sections 5 and 6): registry edits through the API at a
// steady rate over many seeded clients, each edit timed from its committed write (the API's answer)
// until each simulator holds it. The simulators are polled together, every pollMs, through
// /_sim/lookup (which spends no rate limit and is no API call), for every edit not yet seen.

const pollMs = 50;
/** While many edits wait, polls come less often: the simulators' and the benchmark's CPU is the service's too. */
const busyPollMs = 250;
const busyPending = 50;
/** How long the benchmark waits for the backlog to drain once the edits stop. */
const drainTimeoutMs = 300_000;
/** PostgreSQL 15 reports an idle backend's counters after 10 s. */
const statsSettleMs = 11_000;
const idleSampleMs = 10_000;

type Portal = 'caseware' | 'clientOnline';

interface Edit {
  index: number;
  client: SeededClient;
  kind: 'client-city' | 'contact-mobile';
  value: string;
  sentAt: number;
  committedAt?: number;
  failed?: string;
  seenAt: Partial<Record<Portal, number>>;
}

export interface LatencyStats {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

function stats(values: number[]): LatencyStats {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, v) => sum + v, 0) / (sorted.length || 1);
  return {
    count: sorted.length,
    p50: Math.round(percentile(sorted, 50)),
    p95: Math.round(percentile(sorted, 95)),
    p99: Math.round(percentile(sorted, 99)),
    max: Math.round(sorted[sorted.length - 1] ?? Number.NaN),
    mean: Math.round(mean),
  };
}

export interface LatencySection {
  targetRate: number;
  seconds: number;
  edits: number;
  achievedRate: number;
  failedEdits: number;
  pollMs: number;
  /** Polls come every busyPollMs while more than busyPending edits wait. */
  busyPollMs: number;
  /** Committed → both portals, p50 per 10 s of the run (by when the edit was committed): does the latency grow? */
  bothP50ByWindow: { fromSecond: number; edits: number; p50Ms: number }[];
  /**
   * Where the time goes, per stage, p50 / p95 in ms over the workflows whose history was counted:
   * outbox (committed → the workflow got its signal: dispatcher poll, claim, signal-with-start),
   * then per portal: schedule (signal → activity scheduled: the workflow task; for a sync's first
   * attempt, a local activity, signal → the workflow task that runs it started), queue (scheduled →
   * started: the activity task reaching the worker; a local activity has none), run (started →
   * completed: registry reads, the portal call, ledger writes), record (a local activity: completed
   * → its workflow task completed, with the other portal's attempt, and wrote the marker), seen
   * (completed → the benchmark's poll saw it; negative when the poll saw the portal write before
   * the completion was recorded).
   */
  stages: Record<string, { p50: number; p95: number; count: number }>;
  /** Milliseconds from the committed write to the portal holding it. */
  latencyMs: { caseware: LatencyStats; clientOnline: LatencyStats; both: LatencyStats };
  /** How long the API took to answer an edit (the committed write). */
  apiMs: LatencyStats;
  /** When the last edit was committed: edits not yet held by each portal, outbox events not yet handed to Temporal. */
  backlogAtStop: { caseware: number; clientOnline: number; outboxUndelivered: number };
  /** From the last committed edit until each portal held every edit (null: not within the drain timeout). */
  drainSeconds: { caseware: number | null; clientOnline: number | null };
  /** Edits a portal never showed within the drain timeout. */
  neverSeen: { caseware: number; clientOnline: number };
  simulatorCalls: { caseware: CallSummary; clientOnline: CallSummary };
  callsPerChange: { caseware: number; clientOnline: number; byRoute: Record<string, number> };
  history: ReturnType<typeof perChange>;
  /** pg_stat_database of the bench database over the run, less the idle rate (the dispatcher's polling) measured before. */
  database: {
    delta: DatabaseUse;
    /** Everything over the run, divided by the changes (the dispatcher's polling included). */
    perChange: Record<keyof DatabaseUse, number>;
    /**
     * Less the idle rate measured before; rough: the idle rate is mostly the dispatcher's polling,
     * which slows under load, and counters a previous section reports late can land in it.
     */
    idlePerSecond: DatabaseUse;
    net: DatabaseUse;
    netPerChange: Record<keyof DatabaseUse, number>;
  };
  /** CPU seconds from the first edit until the backlog drained, and the idle rate measured before. */
  cpu: CpuUse;
  cpuIdlePerSecond: CpuUse;
  /** CPU seconds per 1 000 changes, less the idle rate over the same time. */
  cpuPer1000Changes: ProcessCpu;
  serviceMaxRssMiB: number;
}

function expected(edit: Edit, portal: Portal, found: { entities: Record<string, CwEntity>; users: Record<string, CwUser>; clients: Record<string, CoClient> }): boolean {
  const contact = edit.client.contacts[0]!;
  if (portal === 'caseware') {
    return edit.kind === 'client-city'
      ? found.entities[edit.client.entityGuid]?.City === edit.value
      : found.users[contact.userGuid]?.MobilePhone === edit.value;
  }
  const client = found.clients[edit.client.clientNumber];
  return edit.kind === 'client-city' ? client?.city === edit.value : client?.users.find((u) => u.ref === contact.ref)?.mobile === edit.value;
}

/** Polls both simulators for every committed edit a portal does not show yet; marks what they show; answers how many it asked for. */
async function pollOnce(context: BenchContext, edits: readonly Edit[]): Promise<number> {
  const waiting = (portal: Portal) => edits.filter((e) => e.committedAt !== undefined && e.seenAt[portal] === undefined);
  const cw = waiting('caseware');
  const co = waiting('clientOnline');
  const [cwFound, coFound] = await Promise.all([
    cw.length === 0
      ? { entities: {}, users: {} }
      : simHook<{ entities: Record<string, CwEntity>; users: Record<string, CwUser> }>(context.simulators.caseware.origin, 'POST', 'lookup', {
          entities: cw.filter((e) => e.kind === 'client-city').map((e) => e.client.entityGuid),
          users: cw.filter((e) => e.kind === 'contact-mobile').map((e) => e.client.contacts[0]!.userGuid),
        }),
    co.length === 0
      ? { clients: {} }
      : simHook<{ clients: Record<string, CoClient> }>(context.simulators.clientOnline.origin, 'POST', 'lookup', { clients: co.map((e) => e.client.clientNumber) }),
  ]);
  const now = Date.now();
  const found = { ...cwFound, ...coFound };
  for (const edit of cw) if (expected(edit, 'caseware', found)) edit.seenAt.caseware = now;
  for (const edit of co) if (expected(edit, 'clientOnline', found)) edit.seenAt.clientOnline = now;
  return Math.max(cw.length, co.length);
}

async function undeliveredEvents(context: BenchContext): Promise<number> {
  const [row] = await context.db('outbox_events').whereNull('delivered_at').count<{ n: string }[]>({ n: '*' });
  return Number(row?.n ?? 0);
}

const activityOf: Record<Portal, string> = { caseware: 'syncClientToCaseWare', clientOnline: 'syncClientToClientOnline' };

function stagesOf(edits: readonly Edit[], timings: Map<string, WorkflowTimings>): LatencySection['stages'] {
  const values: Record<string, number[]> = {};
  const add = (stage: string, ms: number | undefined) => {
    if (ms !== undefined && Number.isFinite(ms)) (values[stage] ??= []).push(ms);
  };
  for (const edit of edits) {
    const timing = timings.get(`client-${edit.client.clientNumber}`);
    if (!timing?.signaledAt || edit.committedAt === undefined) continue;
    add('outbox', timing.signaledAt - edit.committedAt);
    for (const portal of ['caseware', 'clientOnline'] as const) {
      const activity = timing.activities[activityOf[portal]];
      if (!activity?.scheduledAt || !activity.startedAt || !activity.completedAt) continue;
      add(`${portal} schedule`, activity.scheduledAt - timing.signaledAt);
      if (activity.local) {
        if (activity.recordedAt !== undefined) add(`${portal} record`, activity.recordedAt - activity.completedAt);
      } else {
        add(`${portal} queue`, activity.startedAt - activity.scheduledAt);
      }
      add(`${portal} run`, activity.completedAt - activity.startedAt);
      if (edit.seenAt[portal] !== undefined) add(`${portal} seen`, edit.seenAt[portal] - activity.completedAt);
    }
  }
  return Object.fromEntries(
    Object.entries(values).map(([stage, list]) => {
      const sorted = [...list].sort((a, b) => a - b);
      return [stage, { p50: Math.round(percentile(sorted, 50)), p95: Math.round(percentile(sorted, 95)), count: sorted.length }];
    }),
  );
}

function windows(edits: readonly Edit[], start: number): LatencySection['bothP50ByWindow'] {
  const byWindow = new Map<number, number[]>();
  for (const edit of edits) {
    const { caseware, clientOnline } = edit.seenAt;
    if (caseware === undefined || clientOnline === undefined) continue;
    const window = Math.floor((edit.committedAt! - start) / 10_000) * 10;
    byWindow.set(window, [...(byWindow.get(window) ?? []), Math.max(caseware, clientOnline) - edit.committedAt!]);
  }
  return [...byWindow]
    .sort(([a], [b]) => a - b)
    .map(([fromSecond, values]) => ({ fromSecond, edits: values.length, p50Ms: Math.round(percentile([...values].sort((a, b) => a - b), 50)) }));
}

const processKeys = ['service', 'extraWorkers', 'temporal', 'postgres', 'casewareSimulator', 'clientOnlineSimulator', 'bench'] as const;
export type ProcessCpu = Record<(typeof processKeys)[number], number>;

function subtractIdle(use: CpuUse, idlePerSecond: CpuUse): ProcessCpu {
  return Object.fromEntries(processKeys.map((key) => [key, Math.max(0, use[key] - idlePerSecond[key] * use.wallSeconds)])) as ProcessCpu;
}

/** Each edit goes to another client (as long as there are enough), in a reproducible shuffle. */
function editOrder(seeded: readonly SeededClient[]): SeededClient[] {
  const random = mulberry32(20261201);
  const order = [...seeded];
  for (let i = order.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** The database's and the processes' use while nothing happens, per second; and the counters at its end. */
async function measureIdle(context: BenchContext) {
  context.log(`latency: measuring the idle rate for ${idleSampleMs / 1000} s ...`);
  const idleDb0 = await databaseCounters(context);
  const idleCpu0 = cpuSnapshot(context);
  await sleep(idleSampleMs);
  const db0 = await databaseCounters(context);
  const cpu0 = cpuSnapshot(context);
  const idleSeconds = (db0.at - idleDb0.at) / 1000;
  const idleCpu = cpuDelta(cpu0, idleCpu0);
  const cpuIdlePerSecond = Object.fromEntries(
    Object.entries(idleCpu).map(([k, v]) => [k, typeof v !== 'number' ? v : k === 'wallSeconds' ? 1 : k === 'loadAverage' ? 0 : v / idleCpu.wallSeconds]),
  ) as CpuUse;
  const idleDb = databaseDelta(db0, idleDb0);
  const idlePerSecond = Object.fromEntries(Object.entries(idleDb).map(([k, v]) => [k, round(v / idleSeconds, 1)])) as DatabaseUse;
  return { db0, cpu0, cpuIdlePerSecond, idlePerSecond };
}

/** Polls the portals for the edits until stopped; the returned function stops it. */
function startPolling(context: BenchContext, edits: Edit[]): () => Promise<void> {
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const began = Date.now();
      const pending = await pollOnce(context, edits).catch((error: unknown) => {
        context.log(`latency: poll failed: ${String(error)}`);
        return 0;
      });
      await sleep(Math.max(0, (pending > busyPending ? busyPollMs : pollMs) - (Date.now() - began)));
    }
  })();
  return async () => {
    polling = false;
    await poller;
  };
}

/** `total` edits at `rate` a second through the API, each noted in `edits`; answers when every one has been answered. */
async function sendEdits(context: BenchContext, order: readonly SeededClient[], total: number, rate: number, edits: Edit[]): Promise<{ start: number; stoppedAt: number }> {
  const inFlight: Promise<void>[] = [];
  const start = Date.now();
  for (let index = 0; index < total; index += 1) {
    const due = start + (index * 1000) / rate;
    if (due > Date.now()) await sleep(due - Date.now());
    const client = order[index % order.length]!;
    const kind = index % 2 === 0 ? 'client-city' : 'contact-mobile';
    const value = kind === 'client-city' ? `Latency ${index}` : `06-9${String(index).padStart(7, '0')}`;
    const edit: Edit = { index, client, kind, value, sentAt: Date.now(), seenAt: {} };
    edits.push(edit);
    const request =
      kind === 'client-city'
        ? api(context, 'PATCH', `/clients/${client.clientNumber}`, { city: value })
        : api(context, 'PATCH', `/contacts/${client.contacts[0]!.id}`, { mobile: value });
    inFlight.push(
      request.then(
        (answer) => {
          if (answer.status === 200) edit.committedAt = Date.now();
          else edit.failed = `${answer.status}`;
        },
        (error: unknown) => {
          edit.failed = String(error);
        },
      ),
    );
  }
  await Promise.all(inFlight);
  return { start, stoppedAt: Date.now() };
}

/** Clients whose histories are counted: spread over the whole run; a client edited more than once is left out (its history holds several changes). */
function historySampleOf(ok: readonly Edit[], historySample: number): string[] {
  const editsOf = new Map<string, number>();
  for (const edit of ok) editsOf.set(edit.client.clientNumber, (editsOf.get(edit.client.clientNumber) ?? 0) + 1);
  const once = ok.filter((e) => editsOf.get(e.client.clientNumber) === 1);
  const step = Math.max(1, once.length / historySample);
  return Array.from({ length: Math.min(historySample, once.length) }, (_, i) => once[Math.floor(i * step)]!.client.clientNumber);
}

/** Latencies from commit to each portal, and to both, of the committed edits. */
function portalLatencies(ok: readonly Edit[]) {
  const latency = (portal: Portal) => ok.flatMap((e) => (e.seenAt[portal] === undefined ? [] : [Math.max(0, e.seenAt[portal] - e.committedAt!)]));
  const both = ok.flatMap((e) =>
    e.seenAt.caseware === undefined || e.seenAt.clientOnline === undefined ? [] : [Math.max(0, Math.max(e.seenAt.caseware, e.seenAt.clientOnline) - e.committedAt!)],
  );
  return { caseware: latency('caseware'), clientOnline: latency('clientOnline'), both };
}

/** The database's counters from `db0` on (once its statistics have settled), net of its idle rate, in total and per change. */
async function databaseUseOf(context: BenchContext, db0: Awaited<ReturnType<typeof databaseCounters>>, idlePerSecond: DatabaseUse, changes: number) {
  await sleep(statsSettleMs);
  const db1 = await databaseCounters(context);
  const delta = databaseDelta(db1, db0);
  const seconds = (db1.at - db0.at) / 1000;
  const net = Object.fromEntries(Object.entries(delta).map(([k, v]) => [k, Math.round(v - idlePerSecond[k as keyof DatabaseUse] * seconds)])) as DatabaseUse;
  return {
    delta,
    idlePerSecond,
    net,
    perChange: Object.fromEntries(Object.entries(delta).map(([k, v]) => [k, round(v / changes, 1)])) as Record<keyof DatabaseUse, number>,
    netPerChange: Object.fromEntries(Object.entries(net).map(([k, v]) => [k, round(v / changes, 1)])) as Record<keyof DatabaseUse, number>,
  };
}

/** Portal calls per change, by route ("CW GET /entities"). */
function callsPerRoute(calls: ReturnType<typeof portalCallsDelta>, changes: number): Record<string, number> {
  const routes: Record<string, number> = {};
  for (const [portal, summary] of Object.entries(calls)) {
    for (const [route, n] of Object.entries(summary.byRoute)) routes[`${portal === 'caseware' ? 'CW' : 'CO'} ${route}`] = round(n / changes, 3);
  }
  return routes;
}

export async function latencySection(
  context: BenchContext,
  seeded: readonly SeededClient[],
  options: { rate: number; seconds: number; historySample: number },
): Promise<LatencySection> {
  const total = Math.max(1, Math.round(options.rate * options.seconds));
  const order = editOrder(seeded);
  if (total > order.length) context.log(`latency: ${total} edits over ${order.length} clients: some clients are edited more than once`);

  await letRateLimitsRefill(context);
  const { db0, cpu0, cpuIdlePerSecond, idlePerSecond } = await measureIdle(context);

  context.log(`latency: ${total} edits at ${options.rate}/s for ${options.seconds} s ...`);
  const calls0 = await portalCalls(context);
  const rss = new RssSampler(context.service.pid).start();
  const edits: Edit[] = [];
  const stopPolling = startPolling(context, edits);
  const { start, stoppedAt } = await sendEdits(context, order, total, options.rate, edits);
  const achievedRate = total / ((stoppedAt - start) / 1000);
  const ok = edits.filter((e) => e.committedAt !== undefined);
  const backlogAtStop = {
    caseware: ok.filter((e) => e.seenAt.caseware === undefined).length,
    clientOnline: ok.filter((e) => e.seenAt.clientOnline === undefined).length,
    outboxUndelivered: await undeliveredEvents(context),
  };
  context.log(`latency: edits done (${ok.length} committed); backlog CW ${backlogAtStop.caseware}, CO ${backlogAtStop.clientOnline}; draining ...`);

  const allSeen = (portal: Portal) => ok.every((e) => e.seenAt[portal] !== undefined);
  while (!(allSeen('caseware') && allSeen('clientOnline')) && Date.now() - stoppedAt < drainTimeoutMs) await sleep(pollMs);
  await stopPolling();
  const cpu = cpuDelta(cpuSnapshot(context), cpu0);
  const serviceMaxRssMiB = rss.stop();
  const calls = portalCallsDelta(await portalCalls(context), calls0);
  const drain = (portal: Portal) => {
    if (!allSeen(portal)) return null;
    const last = Math.max(...ok.map((e) => e.seenAt[portal]!));
    return round(Math.max(0, last - stoppedAt) / 1000);
  };
  const latencies = portalLatencies(ok);

  context.log('latency: counting workflow histories and database statistics ...');
  const sampled = historySampleOf(ok, options.historySample);
  const counted = await countHistories(context.temporal.client, sampled.map((n) => `client-${n}`));
  const history = perChange(counted, 1);
  const stages = stagesOf(ok, counted.timings);
  const changes = ok.length;
  const database = await databaseUseOf(context, db0, idlePerSecond, changes);
  const netCpu = subtractIdle(cpu, cpuIdlePerSecond);

  return {
    targetRate: options.rate,
    seconds: options.seconds,
    edits: total,
    achievedRate: round(achievedRate),
    failedEdits: edits.filter((e) => e.failed !== undefined).length,
    pollMs,
    busyPollMs,
    bothP50ByWindow: windows(ok, start),
    stages,
    latencyMs: { caseware: stats(latencies.caseware), clientOnline: stats(latencies.clientOnline), both: stats(latencies.both) },
    apiMs: stats(ok.map((e) => e.committedAt! - e.sentAt)),
    backlogAtStop,
    drainSeconds: { caseware: drain('caseware'), clientOnline: drain('clientOnline') },
    neverSeen: { caseware: ok.length - latencies.caseware.length, clientOnline: ok.length - latencies.clientOnline.length },
    simulatorCalls: calls,
    callsPerChange: {
      caseware: round((calls.caseware.reads + calls.caseware.writes) / changes, 3),
      clientOnline: round((calls.clientOnline.reads + calls.clientOnline.writes) / changes, 3),
      byRoute: callsPerRoute(calls, changes),
    },
    history,
    database,
    cpu,
    cpuIdlePerSecond: Object.fromEntries(Object.entries(cpuIdlePerSecond).map(([k, v]) => [k, typeof v === 'number' ? round(v, 3) : v])) as CpuUse,
    cpuPer1000Changes: Object.fromEntries(Object.entries(netCpu).map(([k, v]) => [k, round((v * 1000) / changes)])) as ProcessCpu,
    serviceMaxRssMiB,
  };
}
