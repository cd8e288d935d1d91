import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from '../db';

// What the database says about the whole fleet, read at each scrape: the outbox (delivered, lag),
// the open sync errors, the portals' health, and how long a registry write took to reach a portal.
// Every process of the fleet writes these tables, so any one API instance reports them for all;
// with several API instances, take one instance's series (or max), not the sum.

/** The API's name of a portal (as in GET /sync/errors). */
function portalLabel(portal: string): string {
  return portal === 'client_online' ? 'clientOnline' : portal;
}

const portals = ['caseware', 'client_online'];

/**
 * How far behind "now" a scrape reads: the dispatcher's and the ledger's updates stamp now() at
 * the start of their (one-statement) transactions and commit a moment later; a row stamped just
 * before a scrape but committed just after it is read by the next scrape instead of never.
 */
const settleSeconds = 2;

interface AppliedState {
  portal: string;
  client_number: string;
  horizon: string;
  synced_at: string;
}

export class DatabaseMetrics {
  readonly registry = new Registry();
  private readonly up: Gauge;
  private readonly delivered: Counter;
  private readonly undelivered: Gauge;
  private readonly oldestUndelivered: Gauge;
  private readonly errorsOpen: Gauge<'portal' | 'code'>;
  private readonly healthy: Gauge<'portal'>;
  private readonly latency: Histogram<'portal'>;
  /**
   * The end of the window the previous scrape read (a database timestamp, as text); before the first
   * scrape, the process's start, so deliveries between the start and the first scrape are counted.
   */
  private readUntil: string = new Date().toISOString();
  private firstScrape = true;
  /** Per portal and client, the applied horizon the previous scrape saw. */
  private readonly horizons = new Map<string, bigint>();
  private readonly errorLabelsSeen = new Set<string>();
  private refreshing: Promise<void> = Promise.resolve();

  constructor(private readonly db: Db) {
    const registers = [this.registry];
    this.up = new Gauge({ name: 'portal_sync_metrics_database_up', help: '1 when the last scrape could read the database, else 0', registers });
    this.delivered = new Counter({
      name: 'portal_sync_outbox_events_delivered_total',
      help:
        'Outbox events handed to Temporal, by any dispatcher of the fleet, since this process started ' +
        '(a counter: it starts at 0 with the process; use rate() or increase())',
      registers,
    });
    this.undelivered = new Gauge({ name: 'portal_sync_outbox_undelivered_events', help: 'Outbox events not yet handed to Temporal', registers });
    this.oldestUndelivered = new Gauge({
      name: 'portal_sync_outbox_oldest_undelivered_age_seconds',
      help: 'Age of the oldest outbox event not yet handed to Temporal; 0 when none waits',
      registers,
    });
    this.errorsOpen = new Gauge({
      name: 'portal_sync_sync_errors_open',
      help: 'Sync errors not yet resolved, by portal and code',
      labelNames: ['portal', 'code'] as const,
      registers,
    });
    this.healthy = new Gauge({
      name: 'portal_sync_portal_healthy',
      help: '1 when the service can use the portal, 0 while a portal-level failure (credentials, permissions) stands',
      labelNames: ['portal'] as const,
      registers,
    });
    this.latency = new Histogram({
      name: 'portal_sync_sync_latency_seconds',
      help:
        "From a registry write (its outbox event) to the portal having applied it (the client's sync marked applied); " +
        'observed when a scrape first sees the portal past the event, so late by at most one scrape interval',
      labelNames: ['portal'] as const,
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 14_400],
      registers,
    });
  }

  /** Reads the database into the metrics; scrapes that overlap take turns. */
  refresh(): Promise<void> {
    const next = this.refreshing.then(() => this.read());
    this.refreshing = next.catch(() => undefined);
    return next;
  }

  private async read(): Promise<void> {
    try {
      await this.readOutbox();
      await this.readSyncErrors();
      await this.readHealth();
      this.up.set(1);
    } catch (error) {
      this.up.set(0);
      throw error;
    }
  }

  private async readOutbox(): Promise<void> {
    const since = this.readUntil;
    // Never before `since`: a scrape within settleSeconds of the start reads an empty window.
    const { rows: [window] } = await this.db.raw<{ rows: { until: string }[] }>(
      `select greatest(now() - make_interval(secs => ?), ?::timestamptz)::text as until`,
      [settleSeconds, since],
    );
    const until = window!.until;
    const { rows: [delivered] } = await this.db.raw<{ rows: { n: number }[] }>(
      `select count(*)::int as n from outbox_events where delivered_at > ?::timestamptz and delivered_at <= ?::timestamptz`,
      [since, until],
    );
    this.delivered.inc(delivered?.n ?? 0);
    if (this.firstScrape) await this.rememberHorizons();
    else await this.observeLatencies(since, until);
    this.firstScrape = false;
    this.readUntil = until;

    const { rows: [pending] } = await this.db.raw<{ rows: { n: number; age: number }[] }>(
      `select count(*)::int as n, coalesce(extract(epoch from now() - min(created_at)), 0)::float8 as age
         from outbox_events where delivered_at is null`,
    );
    this.undelivered.set(pending?.n ?? 0);
    this.oldestUndelivered.set(Math.max(0, pending?.age ?? 0));
  }

  /** The first scrape only learns where every portal stands; it has no earlier one to compare with. */
  private async rememberHorizons(): Promise<void> {
    const states = await this.db('portal_sync_state').select<AppliedState[]>('portal', 'client_number', this.db.raw('applied_horizon::text as horizon'));
    for (const state of states) this.horizons.set(stateKey(state), BigInt(state.horizon));
  }

  /**
   * The events a portal got past since the previous scrape: those between the horizon it had then
   * and the one it has now. Their latency is the sync's finish (synced_at) minus their creation.
   */
  private async observeLatencies(since: string, until: string): Promise<void> {
    const { rows: states } = await this.db.raw<{ rows: AppliedState[] }>(
      `select portal, client_number, applied_horizon::text as horizon, synced_at::text as synced_at
         from portal_sync_state where synced_at > ?::timestamptz and synced_at <= ?::timestamptz`,
      [since, until],
    );
    const advanced: (AppliedState & { previous: string })[] = [];
    for (const state of states) {
      const previous = this.horizons.get(stateKey(state)) ?? 0n;
      const horizon = BigInt(state.horizon);
      if (horizon <= previous) continue;
      advanced.push({ ...state, previous: previous.toString() });
      this.horizons.set(stateKey(state), horizon);
    }
    if (advanced.length === 0) return;
    const { rows } = await this.db.raw<{ rows: { portal: string; seconds: number }[] }>(
      `select c.portal, greatest(0, extract(epoch from c.synced_at - e.created_at))::float8 as seconds
         from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::timestamptz[]) as c(portal, client_number, previous, horizon, synced_at)
         join outbox_events e on e.client_number = c.client_number
                             and e.xid >= c.previous::xid8 and e.xid < c.horizon::xid8
        where e.kind <> 'master.updated'`,
      [
        advanced.map((state) => state.portal),
        advanced.map((state) => state.client_number),
        advanced.map((state) => state.previous),
        advanced.map((state) => state.horizon),
        advanced.map((state) => state.synced_at),
      ],
    );
    for (const row of rows) this.latency.observe({ portal: portalLabel(row.portal) }, row.seconds);
  }

  private async readSyncErrors(): Promise<void> {
    const rows = await this.db('sync_errors')
      .whereNull('resolved_at')
      .groupBy('portal', 'code')
      .select<{ portal: string; code: string; n: number }[]>('portal', 'code', this.db.raw('count(*)::int as n'));
    // A code that had errors and has none now reads 0 rather than vanishing.
    for (const key of this.errorLabelsSeen) {
      const [portal, code] = key.split('\0') as [string, string];
      this.errorsOpen.set({ portal, code }, 0);
    }
    for (const row of rows) {
      const labels = { portal: portalLabel(row.portal), code: row.code };
      this.errorLabelsSeen.add(`${labels.portal}\0${labels.code}`);
      this.errorsOpen.set(labels, row.n);
    }
  }

  private async readHealth(): Promise<void> {
    const rows = await this.db('portal_health').select<{ portal: string; healthy: boolean }[]>('portal', 'healthy');
    for (const portal of portals) {
      const row = rows.find((candidate) => candidate.portal === portal);
      this.healthy.set({ portal: portalLabel(portal) }, row === undefined || row.healthy ? 1 : 0);
    }
  }
}

function stateKey(state: { portal: string; client_number: string }): string {
  return `${state.portal}\0${state.client_number}`;
}
