// Home: can each portal be used at all, and what needs attention.
import { api } from '../lib/api.js';
import { html } from '../lib/html.js';
import { useResource } from '../lib/resource.js';
import { href } from '../lib/router.js';
import { FindClient } from './client.js';
import { Badge, Loading, PageHeader, Problem, Refreshed, Section, StatusBadge, When } from '../lib/ui.js';
import { offboardingStatuses, portalKeys, portalNames, reconcileStatuses } from '../lib/words.js';

async function loadOverview() {
  const [health, errors, runs, offboardings] = await Promise.all([
    api('GET', '/sync/health'),
    api('GET', '/sync/errors?limit=1'),
    api('GET', '/reconcile/runs?limit=1'),
    api('GET', '/offboardings'),
  ]);
  return { health, errors, lastRun: runs[0], offboardings: offboardings.offboardings };
}

function PortalHealthCard({ portal, health }) {
  return html`<article class=${`portal-card ${health.healthy ? 'portal-ok' : 'portal-down'}`} data-portal=${portal}>
    <h2>${portalNames[portal]}</h2>
    <p class="portal-state">
      ${health.healthy ? html`<${Badge} tone="good">Working<//>` : html`<${Badge} tone="bad">Cannot be used<//>`}
      ${health.since ? html` <span class="quiet">since <${When} at=${health.since} relativeToo /></span>` : null}
    </p>
    ${health.healthy
      ? html`<p>Changes from the registry reach ${portalNames[portal]}.</p>`
      : html`<p>No client is sent to ${portalNames[portal]} until this is fixed. ${health.failures} failed attempts so far.</p>`}
    ${health.lastFailure
      ? html`<dl class="facts">
          <dt>${health.healthy ? 'Last problem (solved)' : 'What is wrong'}</dt>
          <dd><code>${health.lastFailure.code}</code> ${health.lastFailure.message}</dd>
        </dl>`
      : null}
  </article>`;
}

export function HealthPage() {
  const overview = useResource(loadOverview, [], { pollMs: 10_000 });
  const data = overview.data;
  const active = data?.offboardings.filter((o) => o.status === 'running' || o.status === 'awaiting-approval') ?? [];
  return html`
    <${PageHeader} title="Portal health" intro="Whether each client portal can be used, and what needs your attention.">
      <${Refreshed} resource=${overview} />
    <//>
    <${Problem} error=${overview.error} title="Could not load the overview" />
    ${!data
      ? html`<${Loading} />`
      : html`
        <div class="portal-grid">
          ${portalKeys.map((portal) => html`<${PortalHealthCard} portal=${portal} health=${data.health[portal]} />`)}
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
                ${active.map((o) => html`<li><a href=${href('offboardings', o.id)}>Offboarding ${o.id}</a> <${StatusBadge} status=${o.status} words=${offboardingStatuses} /> <span class="quiet">clients ${o.plan.clientNumbers.join(', ')}</span></li>`)}
              </ul>
            <//>`
          : null}
      `}
  `;
}
