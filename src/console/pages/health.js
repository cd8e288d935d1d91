// Home: can each portal be used at all, is it held, which new logins wait for approval, and what
// needs attention. An operator holds and releases a portal here, and approves held new logins.
import { useState } from 'preact/hooks';
import { useAccess } from '../lib/access.js';
import { api } from '../lib/api.js';
import { html } from '../lib/html.js';
import { useResource } from '../lib/resource.js';
import { href } from '../lib/router.js';
import { FindClient } from './client.js';
import { Badge, Loading, Notice, PageHeader, Problem, Refreshed, Section, StatusBadge, When } from '../lib/ui.js';
import { counted, offboardingStatuses, pageWords, portalFailureText, portalKeys, portalNames, recordName, reconcileStatuses } from '../lib/words.js';

async function loadOverview() {
  const [health, errors, runs, offboardings] = await Promise.all([
    api('GET', '/sync/health'),
    api('GET', '/sync/errors?limit=1'),
    api('GET', '/reconcile/runs?limit=1'),
    api('GET', '/offboardings'),
  ]);
  return { health, errors, lastRun: runs[0], offboardings: offboardings.offboardings };
}

/** An operator's action on a portal: its answer, or what the API refused. */
function useAction(onDone) {
  const [state, setState] = useState({ busy: false, error: undefined, answer: undefined });
  /** Answers whether the API took it. */
  const run = async (method, path, body) => {
    setState({ busy: true, error: undefined, answer: undefined });
    try {
      const answer = await api(method, path, body);
      setState({ busy: false, error: undefined, answer });
      await onDone();
      return true;
    } catch (error) {
      setState({ busy: false, error, answer: undefined });
      return false;
    }
  };
  return { ...state, run };
}

/** Holding stops every write to the portal; releasing lets the clients that waited sync. */
function PortalHold({ portal, hold, reload }) {
  const [note, setNote] = useState('');
  const action = useAction(reload);
  const operator = useAccess('operator');
  const name = portalNames[portal];
  const holdIt = (event) => {
    event.preventDefault();
    if (!window.confirm(`Hold ${name}? Nothing is written to it until it is released; changes keep accumulating.`)) return;
    void action.run('PUT', `/sync/portals/${portal}/hold`, note.trim() ? { note: note.trim() } : undefined).then((taken) => taken && setNote(''));
  };
  return html`<div class="portal-hold">
    ${hold
      ? html`<${Notice} tone="warn">
          <strong>Held by ${hold.heldBy}</strong> since <${When} at=${hold.heldAt} relativeToo />${hold.note ? html` — ${hold.note}` : null}.
          <p>Nothing is written to ${name}: changes wait, and ${hold.heldClients === 1 ? '1 client waits' : `${hold.heldClients} clients wait`} for the release. Reading it (a reconcile's comparison) goes on.</p>
          <div class="form-buttons">
            <button type="button" disabled=${action.busy || !operator.allowed} title=${operator.reason} onClick=${() => void action.run('DELETE', `/sync/portals/${portal}/hold`)}>Release ${name}</button>
          </div>
        <//>`
      : html`<form class="inline-form" onSubmit=${holdIt}>
          <label><span>Note <span class="quiet">(why, optional)</span></span>
            <input name="note" value=${note} maxlength="500" onInput=${(e) => setNote(e.currentTarget.value)} placeholder="e.g. maintenance window, go-live preview" size="28" disabled=${!operator.allowed} />
          </label>
          <button type="submit" class="secondary" disabled=${action.busy || !operator.allowed} title=${operator.reason}>Hold ${name}</button>
        </form>`}
    ${action.answer && 'released' in action.answer
      ? html`<p class="quiet" role="status">${action.answer.released ? `Released: ${action.answer.clients === 1 ? '1 client syncs' : `${action.answer.clients} clients sync`} now.` : 'It was not held.'}</p>`
      : null}
    <${Problem} error=${action.error} title="The hold was not changed" />
  </div>`;
}

/** New logins (each mails credentials) beyond the threshold wait here for two operators. */
function CredentialsMails({ portal, guard, reload }) {
  const action = useAction(reload);
  const operator = useAccess('operator');
  const name = portalNames[portal];
  // Four eyes: the token that approved first tried again (403 from the API).
  const fourEyes = action.error?.status === 403 && /four eyes/.test(action.error.message);
  return html`<div class="credentials-mails">
    <dl class="facts">
      <dt>New logins</dt>
      <dd>${guard.threshold === 0
        ? 'no guard (CREDENTIALS_MAIL_THRESHOLD is 0)'
        : `${guard.sentInWindow} of ${guard.threshold} in the last ${counted(guard.windowMinutes, 'minute')}; more wait for approval`}</dd>
    </dl>
    ${guard.held > 0
      ? html`<${Notice} tone="warn">
          <strong>${guard.held === 1 ? '1 new login waits' : `${guard.held} new logins wait`} for approval</strong>
          ${` (${guard.heldClients === 1 ? '1 client' : `${guard.heldClients} clients`}): more were asked for than the guard lets through in ${counted(guard.windowMinutes, 'minute')}, or a repair would make again a login the portal lost (deleted there by hand). `}
          Nothing was created for them and nobody was mailed. Check that they are meant (a CRM import?), then approve: two operators, each with their own token.
          <div class="table-wrap"><table class="held-creations">
            <thead><tr><th>Held</th><th>Client</th><th>Record</th><th>Since</th><th>Why</th></tr></thead>
            <tbody>${guard.heldCreations.map((creation) => html`<tr>
              <td class="number">${creation.id}</td>
              <td><a href=${href('clients', creation.clientNumber)}>${creation.clientNumber}</a></td>
              <td>${recordName(creation.recordType, creation.recordId)}</td>
              <td><${When} at=${creation.heldAt} /></td>
              <td>${creation.reason === 'recreation' ? 'made again: gone from the portal' : 'beyond the threshold'}</td>
            </tr>`)}</tbody>
          </table></div>
          ${guard.held > guard.heldCreations.length ? html`<p class="quiet">… and ${guard.held - guard.heldCreations.length} more.</p>` : null}
          ${guard.approval
            ? html`<p>Approved once, by ${guard.approval.approvedBy} (<${When} at=${guard.approval.approvedAt} />), covering ${guard.approval.covers}: a second operator approves with their own token.</p>`
            : null}
          <div class="form-buttons">
            <button type="button" disabled=${action.busy || !operator.allowed} title=${operator.reason} onClick=${() => void action.run('POST', `/sync/portals/${portal}/approve-mails`)}>Approve the held new logins</button>
          </div>
        <//>`
      : null}
    ${action.answer && 'status' in action.answer ? html`<p role="status">${action.answer.message}.</p>` : null}
    ${fourEyes
      ? html`<div class="notice notice-bad four-eyes" role="alert">
          <strong>You may not approve these new logins again: a second token is needed.</strong> ${pageWords(action.error.message)}
          <p>Ask a colleague with an operator token to approve them, each signed in with their own token (sign out, then sign in with theirs).</p>
        </div>`
      : html`<${Problem} error=${action.error} title=${`The new logins of ${name} were not approved`} />`}
  </div>`;
}

function PortalHealthCard({ portal, health, reload }) {
  const tone = !health.healthy ? 'portal-down' : health.hold ? 'portal-held' : 'portal-ok';
  return html`<article class=${`portal-card ${tone}`} data-portal=${portal}>
    <h2>${portalNames[portal]}</h2>
    <p class="portal-state">
      ${health.healthy ? html`<${Badge} tone="good">Working<//>` : html`<${Badge} tone="bad">Cannot be used<//>`}
      ${health.hold ? html` <${Badge} tone="warn">Held<//>` : null}
      ${health.since ? html` <span class="quiet">since <${When} at=${health.since} relativeToo /></span>` : null}
    </p>
    ${!health.healthy
      ? html`<p>No client is sent to ${portalNames[portal]} until this is fixed. ${health.failures} failed attempts so far.</p>`
      : health.hold
        ? null
        : html`<p>Changes from the registry reach ${portalNames[portal]}.</p>`}
    ${health.lastFailure
      ? html`<dl class="facts">
          <dt>${health.healthy ? 'Last problem (solved)' : 'What is wrong'}</dt>
          <dd title=${health.lastFailure.code}>${portalFailureText(health.lastFailure)}</dd>
        </dl>`
      : null}
    <${PortalHold} portal=${portal} hold=${health.hold} reload=${reload} />
    <${CredentialsMails} portal=${portal} guard=${health.credentialsMails} reload=${reload} />
  </article>`;
}

export function HealthPage() {
  const overview = useResource(loadOverview, [], { pollMs: 10_000 });
  const data = overview.data;
  const active = data?.offboardings.filter((o) => o.status === 'running' || o.status === 'awaiting-approval') ?? [];
  return html`
    <${PageHeader} title="Portal health" intro="Whether each client portal can be used or is held, the new logins that wait for approval, and what needs your attention.">
      <${Refreshed} resource=${overview} />
    <//>
    <${Problem} error=${overview.error} title="Could not load the overview" />
    ${!data
      ? html`<${Loading} />`
      : html`
        <div class="portal-grid">
          ${portalKeys.map((portal) => html`<${PortalHealthCard} portal=${portal} health=${data.health[portal]} reload=${overview.reload} />`)}
        </div>
        <div class="summary-grid">
          <a class="summary" href=${href('errors')}>
            <span class="summary-number">${data.errors.total}</span>
            <span class="summary-label">open sync ${data.errors.total === 1 ? 'error' : 'errors'}</span>
            <span class="summary-hint">${data.errors.total ? 'Records a portal refused: see what to do' : 'Nothing waits for you'}</span>
          </a>
          <a class="summary" href=${href('offboardings')}>
            <span class="summary-number">${active.length}</span>
            <span class="summary-label">offboardings under way</span>
            <span class="summary-hint">${active.some((o) => o.status === 'awaiting-approval') ? 'One or more wait for your approval' : 'Start one, or follow one'}</span>
          </a>
          <a class="summary" href=${data.lastRun ? href('reconcile', 'runs', data.lastRun.id) : href('reconcile')}>
            <span class="summary-number">${data.lastRun ? html`<${StatusBadge} status=${data.lastRun.status} words=${reconcileStatuses} />` : '—'}</span>
            <span class="summary-label">last reconcile</span>
            <span class="summary-hint">${data.lastRun ? html`started <${When} at=${data.lastRun.startedAt} relativeToo />` : 'No run yet'}</span>
          </a>
        </div>
        <${Section} title="Find a client" intro="See what each portal holds of a client, whether its changes have arrived, and its errors.">
          <${FindClient} />
        <//>
        ${active.length
          ? html`<${Section} title="Offboardings under way">
              <ul class="plain-list">
                ${active.map((o) => html`<li><a href=${href('offboardings', o.id)}>Offboarding ${o.id}</a> <${StatusBadge} status=${o.status} words=${offboardingStatuses} /> <span class="quiet">${o.plan.clientNumbers.length === 1 ? 'client' : 'clients'} ${o.plan.clientNumbers.join(', ')}</span></li>`)}
              </ul>
            <//>`
          : null}
      `}
  `;
}
