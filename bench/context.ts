import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import type { Db } from '../src/db';
import os from 'node:os';
import { cpuSeconds, machineBusySeconds, memory, postgresCpuSeconds, threadCpuSeconds } from './proc';
import type { StartedProcess, ServiceProcess, SimulatorProcesses } from './infra';

// What every section of the benchmark works with: the stack, the API, the simulators' call counts,
// and the resources each process uses.

export interface BenchContext {
  db: Db;
  databaseName: string;
  simulators: SimulatorProcesses;
  service: ServiceProcess;
  /** Worker processes beyond the service's own worker (`--workers`), on the same task queue. */
  extraWorkers: StartedProcess[];
  temporal: { pid: number; client: Client; address: string };
  /** The simulators' rate limit (src/simulators/*.ts defaults). */
  rateLimit: { burst: number; perSecond: number };
  contactRoleName: string;
  log(line: string): void;
}

export interface ApiAnswer<T = unknown> {
  status: number;
  body: T;
}

/** One call of the service's HTTP API, with its token. */
export async function api<T = unknown>(context: BenchContext, method: string, path: string, body?: unknown): Promise<ApiAnswer<T>> {
  const response = await fetch(`${context.service.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${context.service.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

export async function expectApi<T = unknown>(context: BenchContext, method: string, path: string, body?: unknown): Promise<T> {
  const answer = await api<T>(context, method, path, body);
  if (answer.status >= 300) throw new Error(`${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 500)}`);
  return answer.body;
}

export async function simHook<T>(origin: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${origin}/_sim/${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`/_sim/${path} answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
  // Settings answer 204 with no body.
  const text = await response.text();
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

// ----- portal calls, from the simulators' side of the wire ---------------------------------------

export type Calls = Record<string, number>;

export interface PortalCalls {
  caseware: Calls;
  clientOnline: Calls;
}

export async function portalCalls(context: BenchContext): Promise<PortalCalls> {
  const [caseware, clientOnline] = await Promise.all([
    simHook<Calls>(context.simulators.caseware.origin, 'GET', 'calls'),
    simHook<Calls>(context.simulators.clientOnline.origin, 'GET', 'calls'),
  ]);
  return { caseware, clientOnline };
}

function callsDelta(after: Calls, before: Calls): Calls {
  const delta: Calls = {};
  for (const [route, count] of Object.entries(after)) {
    const n = count - (before[route] ?? 0);
    if (n > 0) delta[route] = n;
  }
  return delta;
}

/** The token request is neither a read nor a write (as the service's own call counter has it). */
const tokenRoute = 'POST /auth/token';

export interface CallSummary {
  reads: number;
  writes: number;
  tokens: number;
  byRoute: Calls;
}

export function summariseCalls(calls: Calls): CallSummary {
  let reads = 0;
  let writes = 0;
  let tokens = 0;
  for (const [route, count] of Object.entries(calls)) {
    if (route === tokenRoute) tokens += count;
    else if (route.startsWith('GET ')) reads += count;
    else writes += count;
  }
  return { reads, writes, tokens, byRoute: calls };
}

export function portalCallsDelta(after: PortalCalls, before: PortalCalls): { caseware: CallSummary; clientOnline: CallSummary } {
  return {
    caseware: summariseCalls(callsDelta(after.caseware, before.caseware)),
    clientOnline: summariseCalls(callsDelta(after.clientOnline, before.clientOnline)),
  };
}

/** Waits until both simulators' token buckets are full again, so that a section starts as the last did. */
export async function letRateLimitsRefill(context: BenchContext): Promise<void> {
  await sleep(Math.ceil((context.rateLimit.burst / context.rateLimit.perSecond) * 1000) + 500);
}

// ----- resources ---------------------------------------------------------------------------------

export interface CpuSnapshot {
  at: number;
  service: number;
  /** The extra worker processes together. */
  extraWorkers: number;
  temporal: number;
  postgres: number;
  casewareSimulator: number;
  clientOnlineSimulator: number;
  /** The benchmark's own process (its HTTP load and polling). */
  bench: number;
  /** Every core of the machine, busy. */
  machine: number;
  /** The service's threads by name. */
  serviceThreads: Record<string, number>;
}

export function cpuSnapshot(context: BenchContext): CpuSnapshot {
  return {
    at: Date.now(),
    service: cpuSeconds(context.service.pid),
    extraWorkers: context.extraWorkers.reduce((sum, worker) => sum + cpuSeconds(worker.pid), 0),
    temporal: cpuSeconds(context.temporal.pid),
    postgres: postgresCpuSeconds(),
    casewareSimulator: cpuSeconds(context.simulators.caseware.pid),
    clientOnlineSimulator: cpuSeconds(context.simulators.clientOnline.pid),
    bench: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
    machine: machineBusySeconds(),
    serviceThreads: threadCpuSeconds(context.service.pid),
  };
}

/**
 * CPU seconds per process over a stretch of time; `others` is what the rest of the machine used
 * meanwhile (other test runs share it), `loadAverage` the 1-minute load at its end.
 */
export type CpuUse = Omit<CpuSnapshot, 'at' | 'machine' | 'serviceThreads'> & {
  wallSeconds: number;
  others: number;
  loadAverage: number;
  /** The service's CPU by thread name, the busiest first. */
  serviceThreads: Record<string, number>;
};

export function cpuDelta(after: CpuSnapshot, before: CpuSnapshot): CpuUse {
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    wallSeconds: round((after.at - before.at) / 1000),
    service: round(after.service - before.service),
    extraWorkers: round(after.extraWorkers - before.extraWorkers),
    temporal: round(after.temporal - before.temporal),
    postgres: round(after.postgres - before.postgres),
    casewareSimulator: round(after.casewareSimulator - before.casewareSimulator),
    clientOnlineSimulator: round(after.clientOnlineSimulator - before.clientOnlineSimulator),
    bench: round(after.bench - before.bench),
    others: round(
      Math.max(
        0,
        after.machine - before.machine -
          (after.service - before.service) - (after.extraWorkers - before.extraWorkers) - (after.temporal - before.temporal) - (after.postgres - before.postgres) -
          (after.casewareSimulator - before.casewareSimulator) - (after.clientOnlineSimulator - before.clientOnlineSimulator) - (after.bench - before.bench),
      ),
    ),
    loadAverage: round(os.loadavg()[0] ?? 0),
    serviceThreads: Object.fromEntries(
      Object.entries(after.serviceThreads)
        .map(([name, seconds]) => [name, round(seconds - (before.serviceThreads[name] ?? 0))] as const)
        .filter(([, seconds]) => seconds > 0)
        .sort(([, a], [, b]) => b - a),
    ),
  };
}

/** Samples the service's resident set every half second while a section runs; VmHWM has the peak of the whole run. */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  maxMiB = 0;

  constructor(private readonly pid: number) {}

  start(): this {
    this.maxMiB = 0;
    this.sample();
    this.timer = setInterval(() => this.sample(), 500);
    return this;
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return Math.round(this.maxMiB);
  }

  private sample(): void {
    this.maxMiB = Math.max(this.maxMiB, memory(this.pid)?.rssMiB ?? 0);
  }
}

// ----- the database ------------------------------------------------------------------------------

export interface DatabaseCounters {
  at: number;
  xactCommit: number;
  xactRollback: number;
  tupReturned: number;
  tupFetched: number;
  tupInserted: number;
  tupUpdated: number;
  tupDeleted: number;
}

/**
 * The bench database's counters in pg_stat_database: a proxy for queries (pg_stat_statements is not
 * loaded on this server). PostgreSQL 15 backends report them at most once a second, and an idle
 * one only after 10 s: read them a little after the work they are to cover.
 */
export async function databaseCounters(context: BenchContext): Promise<DatabaseCounters> {
  const { rows } = await context.db.raw<{ rows: Record<string, string>[] }>(
    `select xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted
       from pg_stat_database where datname = ?`,
    [context.databaseName],
  );
  const row = rows[0] ?? {};
  const n = (key: string) => Number(row[key] ?? 0);
  return {
    at: Date.now(),
    xactCommit: n('xact_commit'),
    xactRollback: n('xact_rollback'),
    tupReturned: n('tup_returned'),
    tupFetched: n('tup_fetched'),
    tupInserted: n('tup_inserted'),
    tupUpdated: n('tup_updated'),
    tupDeleted: n('tup_deleted'),
  };
}

export type DatabaseUse = Omit<DatabaseCounters, 'at'>;

export function databaseDelta(after: DatabaseCounters, before: DatabaseCounters): DatabaseUse {
  return {
    xactCommit: after.xactCommit - before.xactCommit,
    xactRollback: after.xactRollback - before.xactRollback,
    tupReturned: after.tupReturned - before.tupReturned,
    tupFetched: after.tupFetched - before.tupFetched,
    tupInserted: after.tupInserted - before.tupInserted,
    tupUpdated: after.tupUpdated - before.tupUpdated,
    tupDeleted: after.tupDeleted - before.tupDeleted,
  };
}

/**
 * Rows the bench database's tables gave to scans: by sequential scan per table (`clients`) and by
 * index scan per index (`clients.clients_pkey`); the rows returned (pg_stat_user_tables,
 * pg_stat_user_indexes) and the scans.
 */
export type TableReads = Record<string, { scans: number; rows: number }>;

/**
 * What each table and index has been read for: a query that reads a whole table, or a growing
 * stretch of an index, for every change shows up as rows growing with the table. Reported with the
 * same delay as databaseCounters.
 */
export async function tableReads(context: BenchContext): Promise<TableReads> {
  const { rows } = await context.db.raw<{ rows: { name: string; scans: string | null; rows: string | null }[] }>(
    `select relname as name, seq_scan as scans, seq_tup_read as rows from pg_stat_user_tables
     union all
     select relname || '.' || indexrelname, idx_scan, idx_tup_read from pg_stat_user_indexes`,
  );
  return Object.fromEntries(rows.map((row) => [row.name, { scans: Number(row.scans ?? 0), rows: Number(row.rows ?? 0) }]));
}

/** The tables and indexes read between the two readings, most rows first. */
export function tableReadsDelta(after: TableReads, before: TableReads): TableReads {
  return Object.fromEntries(
    Object.entries(after)
      .map(([name, a]) => [name, { scans: a.scans - (before[name]?.scans ?? 0), rows: a.rows - (before[name]?.rows ?? 0) }] as const)
      .filter(([, d]) => d.rows > 0)
      .sort(([, a], [, b]) => b.rows - a.rows),
  );
}

// ----- numbers -----------------------------------------------------------------------------------

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function round(n: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(n * factor) / factor;
}
