import Table from 'cli-table3';
import type { BenchOptions } from './main';
import type { ReconcileSection } from './reconcile';

// The benchmark's results: the JSON it writes, and the table it prints.

export interface BenchResults {
  startedAt: string;
  finishedAt?: string;
  machine: { hostname: string; cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
  options: BenchOptions;
  processes: Record<string, number>;
  seed: { clients: number; contactsPerClient: number; seconds: number };
  reconcile?: ReconcileSection;
  service?: { peakRssMiB: number };
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
    ['  CPU s service / Temporal / Postgres (clean run)', `${r.clean.cpu.service} / ${r.clean.cpu.temporal} / ${r.clean.cpu.postgres}`, `simulators ${r.clean.cpu.casewareSimulator} / ${r.clean.cpu.clientOnlineSimulator}`],
  ];
}

export function printReport(results: BenchResults): void {
  const table = new Table({ head: ['measure', 'value', 'target / bound / note'], wordWrap: true, colWidths: [58, 34, 52] });
  const rows: Row[] = [];
  if (results.reconcile) rows.push(...reconcileRows(results.reconcile));
  if (results.service) rows.push(['6 service peak RSS (VmHWM, whole run)', `${results.service.peakRssMiB} MiB`, '']);
  table.push(...rows);
  const m = results.machine;
  console.log(`\nportal-sync benchmark, ${results.startedAt} on ${m.hostname}: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}`);
  console.log(table.toString());
}
