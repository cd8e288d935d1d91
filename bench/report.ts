import Table from 'cli-table3';
import type { BenchOptions } from './options';
import type { BulkSection, Progress } from './bulk';
import type { FloorRun, FloorSection } from './floor';
import type { LatencySection } from './latency';
import type { DirectSection, ProvisioningSection } from './provisioning';
import type { ReconcileSection } from './reconcile';
import type { CpuUse } from './context';

// The benchmark's results: the JSON it writes, and the table it prints.

export interface BenchResults {
  startedAt: string;
  finishedAt?: string;
  machine: { loadAverageAtStart: number; hostname: string; cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
  options: BenchOptions;
  processes: Record<string, number | number[]>;
  seed: { clients: number; contactsPerClient: number; seconds: number };
  reconcile?: ReconcileSection;
  latency?: LatencySection;
  bulk?: BulkSection;
  provisioning?: ProvisioningSection;
  direct?: DirectSection;
  /** Provisioning's objects per second ÷ the direct loop's. */
  provisioningToLimit?: number;
  floor?: FloorSection;
  service?: { peakRssMiB: number; extraWorkersPeakRssMiB?: number[] };
}

/** Activity attempts per worker process, named by pid (`service` is the one with the API). */
function byWorker(activities: Record<string, number>, processes: BenchResults['processes']): string {
  const extra = Array.isArray(processes.extraWorkers) ? processes.extraWorkers : [];
  const name = (identity: string) => {
    const pid = Number(identity.split('@')[0]);
    if (pid === processes.service) return 'service';
    const index = extra.indexOf(pid);
    return index >= 0 ? `worker ${index + 2}` : identity;
  };
  const total = Object.values(activities).reduce((sum, n) => sum + n, 0);
  return Object.entries(activities)
    .map(([identity, n]) => `${name(identity)} ${n} (${Math.round((n / Math.max(1, total)) * 100)}%)`)
    .sort()
    .join(', ');
}

type Row = [string, string, string];

function reconcileRows(r: ReconcileSection): Row[] {
  const portal = (run: ReconcileSection['clean'], name: 'caseware' | 'clientOnline') => run.portals.find((p) => p.portal === name);
  const cw = portal(r.clean, 'caseware');
  const co = portal(r.clean, 'clientOnline');
  const dcw = portal(r.drift.run, 'caseware');
  const dco = portal(r.drift.run, 'clientOnline');
  const calls = r.clean.simulatorCalls;
  const dcalls = r.drift.run.simulatorCalls;
  return [
    [`1 reconcile, clean (${r.clients} clients / ${r.contacts} contacts)`, `${r.clean.wallSeconds} s (report ${r.clean.reportSeconds} s)`, `≤ 60 s or ≤ 1.2 × ${r.bound.boundSeconds} s: ${r.bound.withinTarget ? 'met' : 'NOT met'} (×${r.bound.ratio})`],
    ['  reads: report CW / CO', `${cw?.reads ?? '?'} / ${co?.reads ?? '?'}`, ''],
    ['  reads: simulators CW / CO', `${calls.caseware.reads} / ${calls.clientOnline.reads}`, `bound reads ÷ ${100}/s = ${r.bound.boundSeconds} s (${r.bound.boundWithBurstSeconds} s with the burst)`],
    ['  writes: report CW / CO', `${cw?.writes ?? '?'} / ${co?.writes ?? '?'}`, 'must be 0'],
    ['  writes: simulators CW / CO', `${calls.caseware.writes} / ${calls.clientOnline.writes}`, 'must be 0'],
    ['  drifted CW / CO', `${cw?.drifted ?? '?'} / ${co?.drifted ?? '?'}`, 'must be 0 (seed = what a sync makes)'],
    [
      `1 reconcile, 1% drift (${r.drift.made.entityFieldEdits} entity edits, ${r.drift.made.deactivatedUsers} users deactivated, ${r.drift.made.deletedClientOnlineClients} CO clients deleted)`,
      `${r.drift.run.wallSeconds} s (report ${r.drift.run.reportSeconds} s)`,
      '',
    ],
    ['  drifted / repaired CW', `${dcw?.drifted ?? '?'} / ${dcw?.repaired ?? '?'}`, `failed ${dcw?.failed ?? '?'}, unfinished ${dcw?.unfinished ?? '?'}`],
    ['  drifted / repaired CO', `${dco?.drifted ?? '?'} / ${dco?.repaired ?? '?'}`, `failed ${dco?.failed ?? '?'}, unfinished ${dco?.unfinished ?? '?'}`],
    ['  repair writes: report CW / CO', `${dcw?.writes ?? '?'} / ${dco?.writes ?? '?'}`, ''],
    ['  calls: simulators CW / CO (reads, writes)', `${dcalls.caseware.reads}, ${dcalls.caseware.writes} / ${dcalls.clientOnline.reads}, ${dcalls.clientOnline.writes}`, ''],
    ['  credentials mails by the repairs CW / CO', `${r.drift.mailsSent.caseware} / ${r.drift.mailsSent.clientOnline}`, ''],
    ['  drift left after the repairs CW / CO', `${r.drift.afterRepairs.caseware} / ${r.drift.afterRepairs.clientOnline}`, 'dry run'],
    ['  resources, clean run', `service RSS max ${r.clean.serviceMaxRssMiB} MiB`, cpuNote(r.clean.cpu)],
    ['  resources, run with drift', `service RSS max ${r.drift.run.serviceMaxRssMiB} MiB`, cpuNote(r.drift.run.cpu)],
  ];
}

function latencyRows(l: LatencySection, processes: BenchResults['processes']): Row[] {
  const fmt = (s: LatencySection['latencyMs']['caseware']) => `${s.p50} / ${s.p95} / ${s.p99} ms (max ${s.max})`;
  const target = (s: LatencySection['latencyMs']['caseware']) => (s.p99 <= 1000 ? 'p99 ≤ 1 s: met' : 'p99 ≤ 1 s: NOT met');
  const cpu = l.cpuPer1000Changes;
  const db = l.database.perChange;
  return [
    [`2 change latency: ${l.edits} edits at ${l.targetRate}/s for ${l.seconds} s`, `achieved ${l.achievedRate}/s, ${l.failedEdits} failed`, `poll every ${l.pollMs} ms (${l.busyPollMs} ms while > 50 wait); API answer p50 ${l.apiMs.p50} ms, p99 ${l.apiMs.p99} ms`],
    ['  committed → CaseWare p50 / p95 / p99', fmt(l.latencyMs.caseware), target(l.latencyMs.caseware)],
    ['  committed → Client Online p50 / p95 / p99', fmt(l.latencyMs.clientOnline), target(l.latencyMs.clientOnline)],
    ['  committed → both portals p50 / p95 / p99', fmt(l.latencyMs.both), target(l.latencyMs.both)],
    ['  backlog when the edits stop CW / CO / outbox', `${l.backlogAtStop.caseware} / ${l.backlogAtStop.clientOnline} / ${l.backlogAtStop.outboxUndelivered}`, 'target: no backlog'],
    ['  both portals p50 per 10 s of the run', l.bothP50ByWindow.map((w) => `${w.p50Ms}`).join(' '), 'ms, by when the edit was committed'],
    ['  where the time goes, p50 / p95 ms', Object.entries(l.stages).map(([stage, v]) => `${stage} ${v.p50}/${v.p95}`).join(', '), 'outbox: committed → signal; schedule: signal → activity scheduled (local: its workflow task started); queue: → started; run: → completed; record (local): → marker written; seen: → poll saw it'],
    ['  drained after CW / CO', `${l.drainSeconds.caseware ?? 'not'} s / ${l.drainSeconds.clientOnline ?? 'not'} s`, `never seen: ${l.neverSeen.caseware} / ${l.neverSeen.clientOnline}`],
    ['5 portal calls per changed object CW / CO', `${l.callsPerChange.caseware} / ${l.callsPerChange.clientOnline}`, 'target: 1 per portal'],
    ...Object.entries(l.callsPerChange.byRoute).map(([route, n]): Row => [`    ${route}`, `${n} per change`, '']),
    ['5 Temporal history events per change', `${l.history.eventsPerChange}`, `${l.history.activitiesPerChange} activities per change, ${l.history.localActivitiesPerChange} of them local (${l.history.workflows} workflows counted)`],
    ['  activity attempts by worker process', byWorker(l.history.activitiesByWorker, processes), 'the sampled workflows'],
    ['5 database per change (pg_stat_database, whole run)', `${db.xactCommit} commits (${l.database.netPerChange.xactCommit} net of idle)`, `tuples: ${db.tupReturned} returned, ${db.tupFetched} fetched, ${db.tupInserted} ins, ${db.tupUpdated} upd, ${db.tupDeleted} del`],
    ['6 CPU s per 1 000 changes service / Temporal / Postgres', `${cpu.service}${cpu.extraWorkers ? ` (+ ${cpu.extraWorkers} extra workers)` : ''} / ${cpu.temporal} / ${cpu.postgres}`, `simulators ${cpu.casewareSimulator} / ${cpu.clientOnlineSimulator}; net of idle`],
    ['6 service RSS, max during the latency run', `${l.serviceMaxRssMiB} MiB`, cpuNote(l.cpu)],
    ['6 service CPU s by thread (latency run)', threads(l.cpu.serviceThreads), ''],
  ];
}

function bulkRows(b: BulkSection): Row[] {
  const held = (seconds: number | null, notHeld: number) => (seconds === null ? `NOT held after ${b.timeoutSeconds} s (${notHeld} missing)` : `${seconds} s`);
  const target = (bound: number, met: boolean) => `≤ 2 × calls ÷ ${b.bound.perSecond}/s = ${bound} s: ${met ? 'met' : 'NOT met'}`;
  const calls = (c: BulkSection['simulatorCalls']['caseware']) => `${c.reads}, ${c.writes}, ${c.tokens}`;
  const progress = (p: Progress) => [p.p10, p.p50, p.p90, p.all].map((s) => s ?? '–').join(' / ');
  const cpu = b.cpuPer1000Edits;
  const db = b.database.perEdit;
  const routes = { ...prefixed('CW', b.simulatorCalls.caseware.byRoute), ...prefixed('CO', b.simulatorCalls.clientOnline.byRoute) };
  return [
    [`7 bulk: ${b.edits} client cities changed in one transaction`, `written in ${b.writeSeconds} s`, `${b.outboxEvents} outbox events; then polled every ${b.pollMs / 1000} s for up to ${b.timeoutSeconds} s`],
    ['  committed → CaseWare holds all', held(b.heldSeconds.caseware, b.notHeld.caseware), target(b.bound.casewareSeconds, b.bound.met.caseware)],
    ['  committed → Client Online holds all', held(b.heldSeconds.clientOnline, b.notHeld.clientOnline), target(b.bound.clientOnlineSeconds, b.bound.met.clientOnline)],
    ['  committed → both portals hold all', held(b.heldSeconds.both, Math.max(b.notHeld.caseware, b.notHeld.clientOnline)), target(b.bound.bothSeconds, b.bound.met.both)],
    ['  calls per edit CW / CO', `${b.callsPerEdit.caseware} / ${b.callsPerEdit.clientOnline}`, `reads, writes, tokens: ${calls(b.simulatorCalls.caseware)} / ${calls(b.simulatorCalls.clientOnline)}`],
    ...Object.entries(routes).map(([route, n]): Row => [`    ${route}`, `${n} calls`, `${round2(n / b.edits)} per edit`]),
    ['  handed to Temporal: 10% / 50% / 90% / all', `${progress(b.progress.outbox)} s`, 'after the commit (the outbox drained)'],
    ['  held by CaseWare: 10% / 50% / 90% / all', `${progress(b.progress.caseware)} s`, 'after the commit'],
    ['  held by Client Online: 10% / 50% / 90% / all', `${progress(b.progress.clientOnline)} s`, 'after the commit'],
    ['  database per edit (pg_stat_database, whole section)', `${db.xactCommit} commits`, `tuples: ${db.tupReturned} returned, ${db.tupFetched} fetched, ${db.tupInserted} ins, ${db.tupUpdated} upd, ${db.tupDeleted} del`],
    ['  rows read per edit, by table and index', tablesRead(b), 'table: sequential scans; table.index: index scans; rows over the section ÷ edits'],
    ['  CPU s per 1 000 edits service / Temporal / Postgres', `${cpu.service}${cpu.extraWorkers ? ` (+ ${cpu.extraWorkers} extra workers)` : ''} / ${cpu.temporal} / ${cpu.postgres}`, `simulators ${cpu.casewareSimulator} / ${cpu.clientOnlineSimulator}, bench ${cpu.bench}; write and sync, idle included`],
    ['  resources while writing', `${b.cpu.write.wallSeconds} s`, cpuNote(b.cpu.write)],
    ['  resources from the commit on', `${b.cpu.sync.wallSeconds} s, service RSS max ${b.serviceMaxRssMiB} MiB`, cpuNote(b.cpu.sync)],
    ['  service CPU s by thread, from the commit on', threads(b.cpu.sync.serviceThreads), ''],
  ];
}

function tablesRead(b: BulkSection): string {
  return Object.entries(b.database.tables)
    .slice(0, 5)
    .map(([name, reads]) => `${name} ${round2(reads.rows / b.edits)}`)
    .join(', ');
}

function threads(byName: Record<string, number>): string {
  return Object.entries(byName)
    .slice(0, 6)
    .map(([name, seconds]) => `${name} ${seconds}`)
    .join(', ');
}

function cpuNote(cpu: CpuUse): string {
  return `CPU s: service ${cpu.service}${cpu.extraWorkers ? `, extra workers ${cpu.extraWorkers}` : ''}, Temporal ${cpu.temporal}, Postgres ${cpu.postgres}, sims ${cpu.casewareSimulator}/${cpu.clientOnlineSimulator}, bench ${cpu.bench}; other processes ${cpu.others} (load ${cpu.loadAverage})`;
}

function provisioningRows(p: ProvisioningSection | undefined, d: DirectSection | undefined, ratio: number | undefined, processes: BenchResults['processes']): Row[] {
  const rows: Row[] = [];
  if (p) {
    rows.push(
      [`3 provisioning: ${p.clients} clients × ${p.contactsPerClient} contacts via the API (${p.concurrency} at a time)`, `${p.objectsPerSecond} objects/s`, `${p.objects} objects in ${p.seconds} s${p.complete ? '' : ' (INCOMPLETE)'}; API done after ${p.apiSeconds} s`],
      ['  held by CaseWare / Client Online after', `${p.portalSeconds.caseware ?? 'not'} s / ${p.portalSeconds.clientOnline ?? 'not'} s`, `per client p50 ${p.clientSecondsP50} s, max ${p.clientSecondsMax} s`],
      ['  portal calls per object (CW reads, writes / CO reads, writes)', `${p.callsPerObject}`, `${p.simulatorCalls.caseware.reads}, ${p.simulatorCalls.caseware.writes} / ${p.simulatorCalls.clientOnline.reads}, ${p.simulatorCalls.clientOnline.writes}`],
      ...Object.entries({ ...prefixed('CW', p.simulatorCalls.caseware.byRoute), ...prefixed('CO', p.simulatorCalls.clientOnline.byRoute) }).map(
        ([route, n]): Row => [`    ${route}`, `${round2(n / p.clients)} per client`, ''],
      ),
      ['  Temporal history events per client', `${round2(p.history.eventsPerChange * (1 + p.contactsPerClient))}`, `${round2(p.history.activitiesPerChange * (1 + p.contactsPerClient))} activities per client; open sync errors after: ${p.syncErrorsAfter}`],
      ['  activity attempts by worker process', byWorker(p.history.activitiesByWorker, processes), 'the sampled clients'],
      ['  resources', `service RSS max ${p.serviceMaxRssMiB} MiB`, cpuNote(p.cpu)],
    );
  }
  if (d) {
    rows.push(
      [`4 the limit: direct calls, same objects, ${d.concurrency} clients at a time`, `${d.objectsPerSecond} objects/s`, `${d.objects} objects in ${d.seconds} s; ${d.callsPerObject} calls per object`],
    );
  }
  if (ratio !== undefined) rows.push(['  provisioning ÷ limit', `${ratio}`, ratio >= 0.8 ? 'target ≥ 0.8: met' : 'target ≥ 0.8: NOT met']);
  return rows;
}

function floorRows(f: FloorSection): Row[] {
  const idle = f.idlePerSecond;
  const run = (label: string, r: FloorRun): Row[] => {
    const ms = r.cpuMsPerChange;
    const events = Object.entries(r.history.byTypePerChange).map(([type, n]) => `${type} ${n}`).join(', ');
    return [
      [`  ${label}: CPU ms per change Temporal / worker / client`, `${ms.temporal} / ${ms.worker} / ${ms.client} (sum ${ms.total})`, `achieved ${r.achievedRate}/s, ${r.failed} failed, all completed after ${r.seconds} s; CPU s: service ${r.cpu.service}, Postgres ${r.cpu.postgres}, other processes ${r.cpu.others} (load ${r.cpu.loadAverage})`],
      ['    history events per change', `${r.history.eventsPerChange}`, events],
      ['    worker CPU ms per change by thread', threads(r.workerThreadsMsPerChange), ''],
    ];
  };
  return [
    [`8 floor: ${f.runs.localActivities.changes} changes at ${f.rate}/s, each a new workflow by signal-with-start`, 'no work of ours; net of idle', `idle CPU ms/s Temporal / worker / client: ${round2(idle.temporal * 1000)} / ${round2(idle.worker * 1000)} / ${round2(idle.client * 1000)}`],
    ...run('2 local activities that return at once', f.runs.localActivities),
    ...run('bare workflow, finishes at once', f.runs.bare),
  ];
}

function prefixed(prefix: string, calls: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(calls).map(([route, n]) => [`${prefix} ${route}`, n]));
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

export function printReport(results: BenchResults): void {
  const table = new Table({
    head: ['measure', 'value', 'target / bound / note'],
    wordWrap: true,
    colWidths: [58, 34, 60],
    style: { head: [], border: [], compact: true },
  });
  const rows: Row[] = [];
  if (results.reconcile) rows.push(...reconcileRows(results.reconcile));
  if (results.latency) rows.push(...latencyRows(results.latency, results.processes));
  if (results.bulk) rows.push(...bulkRows(results.bulk));
  rows.push(...provisioningRows(results.provisioning, results.direct, results.provisioningToLimit, results.processes));
  if (results.floor) rows.push(...floorRows(results.floor));
  if (results.service) rows.push(['6 service peak RSS (VmHWM, whole run)', `${results.service.peakRssMiB} MiB`, '']);
  table.push(...rows);
  const m = results.machine;
  console.log(`\nportal-sync benchmark, ${results.startedAt} on ${m.hostname}: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}`);
  console.log(table.toString());
}
