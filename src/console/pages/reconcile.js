// The hourly reconcile: compares every client in both portals with the registry and repairs drift.
import { useState } from 'preact/hooks';
import { useAccess } from '../lib/access.js';
import { api } from '../lib/api.js';
import { html } from '../lib/html.js';
import { useResource } from '../lib/resource.js';
import { go, href } from '../lib/router.js';
import { Badge, Empty, ExternalLink, Loading, Notice, PageHeader, Problem, Refreshed, Section, StatusBadge, When, duration, temporalWorkflowUrl } from '../lib/ui.js';
import { counted, driftText, pageWords, portalNames, reconcileStatuses, repairStatuses, triggers } from '../lib/words.js';

const reportColumns = [
  ['checked', 'Checked', 'clients the portal holds or should hold'],
  ['inSync', 'In step', 'nothing differed'],
  ['drifted', 'Drifted', 'the portal held something else'],
  ['knownErrors', 'Known errors', 'left to the sync error list'],
  ['repaired', 'Repaired', ''],
  ['noChange', 'Already fixed', 'a change in flight had fixed it first'],
  ['failed', 'Not repaired', 'see the sync errors'],
  ['unfinished', 'Unfinished', 'repairs still running when the run stopped waiting'],
  ['orphans', 'Orphans', 'portal objects no registry record accounts for; never deleted'],
  ['reads', 'Portal reads', ''],
  ['writes', 'Portal writes', ''],
];

function ReportTable({ report }) {
  return html`<div class="table-wrap"><table class="report">
    <thead><tr><th>Portal</th>${reportColumns.map(([, label, title]) => html`<th title=${title}>${label}</th>`)}</tr></thead>
    <tbody>${report.portals.map((portal) => html`<tr>
      <td>${portalNames[portal.portal]}</td>
      ${reportColumns.map(([key]) => html`<td class=${`number ${portal[key] > 0 && ['drifted', 'failed', 'orphans', 'unfinished'].includes(key) ? 'attention' : ''}`}>${portal[key]}</td>`)}
    </tr>`)}</tbody>
  </table></div>`;
}

const outlookActions = [
  ['adopt', 'Adopt', 'already in the portal: taken over as it is, brought to the registry\'s values, never mailed'],
  ['create', 'Create', 'not in the portal yet: created'],
  ['update', 'Update', 'in the portal with other values: brought to the registry\'s'],
  ['keep', 'Keep', 'access the registry does not grant, kept as it was (not removed)'],
  ['conflicts', 'Conflicts', 'ambiguous: that client is not touched until it is resolved'],
  ['credentialsMails', 'Credentials mails', 'new logins: each person mailed once'],
];
const objectWords = { entity: 'client entity', 'contact-user': 'contact user', client: 'client', login: 'login', user: 'client user' };
const actionWords = { adopt: 'adopt', create: 'create', update: 'update', keep: 'keep', conflict: 'conflict' };

/**
 * The go-live preview: what the next syncs would do at each portal, as the run found it. A person
 * reads it as a plan: per portal, the counts; under them, the records behind each count.
 */
function Outlook({ run }) {
  const portals = (run.report?.portals ?? []).filter((p) => p.outlook);
  if (portals.length === 0) return null;
  const items = run.outlook ?? [];
  const nothing = portals.every((p) => outlookActions.every(([key]) => p.outlook[key] === 0));
  return html`<${Section}
    title=${run.dryRun ? 'What the next syncs would do' : 'What the repairs were to do, and did'}
    intro="Worked out from one read of each portal with the rules the syncs follow: what they would adopt, create, update and keep, the conflicts that stop them, and how many people get a credentials mail. Use it before going live (hold the portals, compare only, fix the conflicts, release)."
  >
    <div class="table-wrap"><table class="outlook">
      <thead><tr><th>Portal</th>${outlookActions.map(([, label, title]) => html`<th title=${title}>${label}</th>`)}${run.dryRun ? null : html`<th title="what the repairs' syncs did">Done</th>`}</tr></thead>
      <tbody>${portals.map((portal) => html`<tr>
        <td>${portalNames[portal.portal]}</td>
        ${outlookActions.map(([key]) => html`<td class=${`number ${portal.outlook[key] > 0 && ['conflicts', 'credentialsMails'].includes(key) ? 'attention' : ''}`}>${portal.outlook[key]}</td>`)}
        ${run.dryRun ? null : html`<td class="brief">${portal.done ? `adopted ${portal.done.adopt}, created ${portal.done.create}, updated ${portal.done.update}, ${counted(portal.done.credentialsMails, 'mail')}` : '—'}</td>`}
      </tr>`)}</tbody>
    </table></div>
    ${nothing
      ? html`<${Empty}>Nothing: both portals hold what the registry says.<//>`
      : html`<details class="outlook-items"><summary>The records behind the counts (${items.length})</summary>
          <div class="table-wrap"><table>
            <thead><tr><th>Portal</th><th>Action</th><th>What</th><th>Client</th><th>Record</th><th>Mails</th><th>Note</th></tr></thead>
            <tbody>${items.map((item) => html`<tr>
              <td>${portalNames[item.portal]}</td>
              <td>${item.action === 'conflict' ? html`<${Badge} tone="bad">conflict<//>` : actionWords[item.action]}</td>
              <td>${objectWords[item.object] ?? item.object}</td>
              <td><a href=${href('clients', item.clientNumber)}>${item.clientNumber}</a></td>
              <td>${item.recordType} ${item.recordId}</td>
              <td class="number">${item.credentialsMails || ''}</td>
              <td>${item.detail ? html`<code>${item.detail}</code>` : ''}</td>
            </tr>`)}</tbody>
          </table></div>
        </details>`}
  <//>`;
}

function briefReport(run) {
  if (!run.report) return run.status === 'running' ? 'comparing…' : '—';
  return run.report.portals
    .map((p) => {
      const outlook = p.outlook && (p.outlook.adopt || p.outlook.create || p.outlook.conflicts || p.outlook.credentialsMails)
        ? `; would adopt ${p.outlook.adopt}, create ${p.outlook.create}, ${counted(p.outlook.credentialsMails, 'mail')}, ${counted(p.outlook.conflicts, 'conflict')}`
        : '';
      return `${portalNames[p.portal]}: ${p.checked} checked, ${p.drifted} drifted, ${p.repaired} repaired, ${counted(p.orphans, 'orphan')}${outlook}`;
    })
    .join(' · ');
}

function Schedule({ schedule }) {
  const [note, setNote] = useState('');
  const [error, setError] = useState(undefined);
  const [busy, setBusy] = useState(false);
  const operator = useAccess('operator');
  const data = schedule.data;
  const toggle = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await api('PUT', '/reconcile/schedule', { paused: !data.paused, ...(note.trim() ? { note: note.trim() } : {}) });
      setNote('');
      await schedule.reload();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return html`<${Section}
    title="The hourly schedule"
    intro="Every hour the reconcile compares what both portals hold with the registry and repairs what drifted. Pause it during portal maintenance."
  >
    <${Problem} error=${schedule.error} title="Could not load the schedule" />
    ${!data
      ? html`<${Loading} />`
      : html`
        <dl class="facts inline">
          <dt>State</dt><dd>${data.paused ? html`<${Badge} tone="warn">Paused<//>` : html`<${Badge} tone="good">Runs every hour<//>`}</dd>
          ${data.note ? html`<dt>Note</dt><dd>${data.note}</dd>` : null}
          ${data.lastChangedBy ? html`<dt>Last paused or resumed by</dt><dd>${data.lastChangedBy.token}, <${When} at=${data.lastChangedBy.at} /></dd>` : null}
          <dt>Next run</dt><dd>${data.paused ? 'none while paused' : html`<${When} at=${data.nextRuns[0]} />`}</dd>
          <dt>Last scheduled run</dt><dd><${When} at=${data.recentRuns.at(-1)?.scheduledAt} /></dd>
        </dl>
        <form class="inline-form" onSubmit=${toggle}>
          <label><span>Note <span class="quiet">(why, optional)</span></span>
            <input name="note" value=${note} maxlength="500" onInput=${(e) => setNote(e.currentTarget.value)} placeholder=${data.paused ? 'e.g. maintenance over' : 'e.g. portal maintenance'} size="30" disabled=${!operator.allowed} />
          </label>
          <button type="submit" class=${data.paused ? '' : 'secondary'} disabled=${busy || !operator.allowed} title=${operator.reason}>${data.paused ? 'Resume the schedule' : 'Pause the schedule'}</button>
        </form>
        <${Problem} error=${error} title="The schedule was not changed" />
      `}
  <//>`;
}

export function ReconcilePage() {
  const runs = useResource(() => api('GET', '/reconcile/runs?limit=50'), [], { pollMs: 5_000 });
  const schedule = useResource(() => api('GET', '/reconcile/schedule'), []);
  const [error, setError] = useState(undefined);
  const [busy, setBusy] = useState(false);
  const operator = useAccess('operator');
  const runNow = async (dryRun) => {
    setBusy(true);
    setError(undefined);
    try {
      const run = await api('POST', '/reconcile', { dryRun });
      go('reconcile', 'runs', run.id);
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };
  return html`
    <${PageHeader} title="Reconcile" intro="Checks the portals themselves: a field edited by hand in a portal, a deleted entity, a missing login. What drifted is repaired by the client's own sync; what no registry record accounts for is reported, never deleted.">
      <button type="button" disabled=${busy || !operator.allowed} title=${operator.reason} onClick=${() => void runNow(false)}>Run now</button>
      <button type="button" class="secondary" disabled=${busy || !operator.allowed} onClick=${() => void runNow(true)} title=${operator.reason ?? 'Compare and report; repair nothing'}>Compare only</button>
    <//>
    <${Problem} error=${error} title="The reconcile did not start" />
    <${Schedule} schedule=${schedule} />
    <${Section} title="Runs" actions=${html`<${Refreshed} resource=${runs} />`}>
      <${Problem} error=${runs.error} title="Could not load the runs" />
      ${!runs.data
        ? html`<${Loading} />`
        : runs.data.length === 0
          ? html`<${Empty}>No reconcile has run yet.<//>`
          : html`<div class="table-wrap"><table>
              <thead><tr><th>Run</th><th>Started by</th><th>Status</th><th>Started</th><th>Took</th><th>What it found</th></tr></thead>
              <tbody>${runs.data.map((run) => html`<tr>
                <td class="nowrap"><a href=${href('reconcile', 'runs', run.id)}>Run ${run.id}</a>${run.dryRun ? html` <${Badge}>compare only<//>` : null}</td>
                <td class="nowrap">${triggers[run.trigger] ?? run.trigger}${run.requestedBy ? html` <span class="quiet">by ${run.requestedBy}</span>` : null}</td>
                <td><${StatusBadge} status=${run.status} words=${reconcileStatuses} /></td>
                <td class="nowrap"><${When} at=${run.startedAt} /></td>
                <td class="nowrap">${duration(run.report?.durationMs)}</td>
                <td class="brief">${briefReport(run)}</td>
              </tr>`)}</tbody>
            </table></div>`}
    <//>
  `;
}

export function ReconcileRunPage({ route, config }) {
  const id = route.segments[2];
  const resource = useResource(() => api('GET', `/reconcile/runs/${encodeURIComponent(id)}`), [id], { pollMs: 2_000, keepPolling: (run) => run.status === 'running' || run.repairs.some((r) => r.status === 'pending') });
  const run = resource.data;
  if (resource.error?.status === 404) return html`<${Empty}>There is no reconcile run ${id}.<//>`;
  if (!run) return html`<${Problem} error=${resource.error} title="Could not load the run" /><${Loading} />`;
  return html`
    <${PageHeader} title=${`Reconcile run ${run.id}${run.dryRun ? ' (compare only)' : ''}`} intro=${`${triggers[run.trigger] ?? run.trigger}${run.requestedBy ? `, by token ${run.requestedBy}` : ''}`}>
      <${StatusBadge} status=${run.status} words=${reconcileStatuses} />
    <//>
    <p class="back"><a href=${href('reconcile')}>← All runs</a></p>
    <section class="card">
      <dl class="facts inline">
        <dt>Started</dt><dd><${When} at=${run.startedAt} relativeToo /></dd>
        <dt>Finished</dt><dd><${When} at=${run.finishedAt} /></dd>
        <dt>Took</dt><dd>${duration(run.report?.durationMs)}</dd>
        <dt>In Temporal</dt><dd><${ExternalLink} href=${temporalWorkflowUrl(config, run.workflowId)} className="temporal-workflow">workflow ${run.workflowId}<//></dd>
      </dl>
      ${run.report?.failure ? html`<${Notice} tone="bad"><strong>It failed:</strong> ${pageWords(run.report.failure)}<//>` : null}
      ${run.status === 'running' ? html`<p class="quiet live">Comparing and repairing; this page refreshes by itself.</p>` : null}
      ${run.report ? html`<${ReportTable} report=${run.report} />` : null}
    </section>
    <${Outlook} run=${run} />
    <${Section} title="Drifted clients" intro="Clients where a portal held something other than the registry says, and what became of each repair.">
      ${run.repairs.length === 0
        ? html`<${Empty}>${run.status === 'running' ? 'None found so far.' : 'None: both portals held what the registry says.'}<//>`
        : html`<div class="table-wrap"><table>
            <thead><tr><th>Client</th><th>Portal</th><th>What differed</th><th>Repair</th><th>Writes</th><th>Found</th><th>Settled</th></tr></thead>
            <tbody>${run.repairs.map((repair) => html`<tr>
              <td><a href=${href('clients', repair.clientNumber)}>${repair.clientNumber}</a></td>
              <td>${portalNames[repair.portal]}</td>
              <td><ul class="plain-list">${repair.drift.map((d) => html`<li>${driftText(d)}</li>`)}</ul></td>
              <td><${StatusBadge} status=${repair.status} words=${repairStatuses} />${repair.message ? html`<div class="quiet">${pageWords(repair.message)}</div>` : null}</td>
              <td class="number">${repair.writes}</td>
              <td><${When} at=${repair.foundAt} /></td>
              <td><${When} at=${repair.settledAt} /></td>
            </tr>`)}</tbody>
          </table></div>`}
    <//>
    <${Section} title="Orphans" intro="Objects in a portal that no registry record accounts for. They are never deleted automatically: check them in the portal.">
      ${run.orphans.length === 0
        ? html`<${Empty}>None.<//>`
        : html`<div class="table-wrap"><table>
            <thead><tr><th>Portal</th><th>Kind</th><th>Id in the portal</th><th>Why it is an orphan</th></tr></thead>
            <tbody>${run.orphans.map((orphan) => html`<tr>
              <td>${portalNames[orphan.portal]}</td><td>${orphan.kind}</td><td><code>${orphan.remoteId}</code></td><td>${orphan.reason}</td>
            </tr>`)}</tbody>
          </table></div>`}
    <//>
  `;
}
