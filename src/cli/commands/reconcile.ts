import type { Command } from 'commander';
import type { PortalSyncApi, ReconcileRun, ReconcileRunDetails } from '../api-client';
import { exitCodes } from '../exit-codes';
import { follow } from '../follow';
import { plural, portalName, seconds, table } from '../format';
import { apiAndOutput, examples, exitWith, withApiOptions, type ApiCommandOptions } from '../options';
import type { Output } from '../output';

export function registerReconcileCommand(program: Command): void {
  withApiOptions(
    program
      .command('reconcile')
      .summary('run the reconcile now; --wait follows it to its report')
      .description(
        'run the reconcile now: compare what both portals hold with the registry and repair what drifted through the clients\' own syncs (POST /reconcile). ' +
          'Orphans are reported, never deleted',
      )
      .option('--wait', 'follow the run until it has finished and print its report; exit 1 when the run failed')
      .option('--dry-run', 'compare and report, repair nothing'),
  )
    .addHelpText('after', examples('portal-sync reconcile --wait', 'portal-sync reconcile --dry-run --wait --json', 'portal-sync reconcile'))
    .action(
      exitWith(async (options: ApiCommandOptions & { wait?: boolean; dryRun?: boolean }) => {
        const { api, out } = apiAndOutput(options);
        // Started without the API's own wait: a run may take longer than one HTTP request should
        // stay open, so the CLI follows it through GET /reconcile/runs/:id instead.
        const run = await api.post<ReconcileRun>('/reconcile', { dryRun: options.dryRun === true });
        if (!options.wait) {
          out.result(run, (value) => [
            `Reconcile run ${value.id} started${value.dryRun ? ' (dry run: nothing is repaired)' : ''}, workflow ${value.workflowId}.`,
            `Its report, when it has finished: GET /reconcile/runs/${value.id}; or start the next with \`portal-sync reconcile --wait\`.`,
          ]);
          return exitCodes.ok;
        }
        const finished = await followRun(api, run, out);
        out.result(finished, describeReport);
        return finished.status === 'failed' ? exitCodes.failed : exitCodes.ok;
      }),
    );
}

/** Polls the run until it has finished: a spinner with what it found so far on a terminal, plain lines elsewhere. */
function followRun(api: PortalSyncApi, run: ReconcileRun, out: Output): Promise<ReconcileRunDetails> {
  let reported = '';
  return follow({
    out,
    intervalMs: 1_000,
    read: () => api.get<ReconcileRunDetails>(`/reconcile/runs/${run.id}`),
    finished: (details) => details.status !== 'running',
    goesOn: `reconcile run ${run.id} goes on (GET /reconcile/runs/${run.id})`,
    eraseAtEnd: true,
    show(details, view) {
      const progress = progressText(details);
      if (progress !== reported) {
        reported = progress;
        view.change(`reconcile run ${run.id}${run.dryRun ? ' (dry run)' : ''}: ${progress}`);
      }
      view.frame((spinner) => [`${spinner} Reconcile run ${run.id}${run.dryRun ? ' (dry run)' : ''}: ${progress}, ${seconds(runningFor(details))}`]);
    },
  });
}

/** Since the run started, by its own start (startedAt), as its report's duration counts it. */
function runningFor(details: ReconcileRunDetails): number {
  return Math.max(0, Date.now() - Date.parse(details.startedAt));
}

function progressText(details: ReconcileRunDetails): string {
  if (details.status !== 'running') return details.status;
  const drifted = details.repairs.length;
  if (drifted === 0) return 'comparing the portals with the registry';
  const settled = details.repairs.filter((repair) => repair.status !== 'pending').length;
  return `${plural(drifted, 'drifted client')} found, ${settled} settled`;
}

function describeReport(details: ReconcileRunDetails): string[] {
  const report = details.report;
  if (!report) return [`Reconcile run ${details.id}: ${details.status}, no report.`];
  const lines = [
    `Reconcile run ${details.id} ${report.status} in ${seconds(report.durationMs)}${report.dryRun ? ' (dry run: nothing was repaired)' : ''}.`,
    ...(report.failure ? [`  failure: ${report.failure}`] : []),
    '',
    ...table(
      ['portal', 'checked', 'in sync', 'drifted', 'known errors', 'repaired', 'no change', 'failed', 'unfinished', 'orphans', 'reads', 'writes'],
      report.portals.map((portal) => [
        portalName(portal.portal),
        ...[portal.checked, portal.inSync, portal.drifted, portal.knownErrors, portal.repaired, portal.noChange, portal.failed, portal.unfinished, portal.orphans, portal.reads, portal.writes].map(String),
      ]),
    ),
  ];
  const outlooks = report.portals.filter((portal) => portal.outlook);
  if (outlooks.length > 0) {
    lines.push('', report.dryRun ? 'What the next syncs would do (the go-live preview):' : 'What the repairs were to do, and did:');
    lines.push(
      ...table(
        ['portal', 'adopt', 'create', 'update', 'keep', 'conflicts', 'credentials mails', ...(report.dryRun ? [] : ['done'])],
        outlooks.map((portal) => {
          const o = portal.outlook!;
          const done = portal.done ? `adopted ${portal.done.adopt}, created ${portal.done.create}, updated ${portal.done.update}, ${portal.done.credentialsMails} mails` : '';
          return [portalName(portal.portal), ...[o.adopt, o.create, o.update, o.keep, o.conflicts, o.credentialsMails].map(String), ...(report.dryRun ? [] : [done])];
        }),
      ),
    );
    const conflicts = details.outlook.filter((item) => item.action === 'conflict');
    if (conflicts.length > 0) {
      lines.push('', 'Conflicts (that client is not touched until they are resolved):');
      lines.push(...table(['portal', 'client', 'record', 'why'], conflicts.map((c) => [portalName(c.portal), c.clientNumber, `${c.recordType} ${c.recordId}`, c.detail ?? ''])));
    }
  }
  if (details.repairs.length > 0) {
    lines.push('', 'Drifted clients:');
    lines.push(
      ...table(
        ['portal', 'client', 'status', 'what differed'],
        details.repairs.map((repair) => [
          portalName(repair.portal),
          repair.clientNumber,
          repair.status,
          repair.drift.map((drift) => `${drift.recordType} ${drift.recordId}: ${drift.issue}${drift.fields ? ` ${drift.fields.join(', ')}` : ''}`).join('; ') +
            (repair.message ? ` (${repair.message})` : ''),
        ]),
      ),
    );
  }
  if (details.orphans.length > 0) {
    lines.push('', 'Orphans (reported, never deleted):');
    lines.push(...table(['portal', 'kind', 'remote id', 'reason'], details.orphans.map((orphan) => [portalName(orphan.portal), orphan.kind, orphan.remoteId, orphan.reason])));
  }
  return lines;
}
