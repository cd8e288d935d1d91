// The sync errors: what the background sync could not do, and what to do about it.
import { api, query } from '../lib/api.js';
import { clientNumberHint, clientNumberPattern, formValues } from '../lib/forms.js';
import { html } from '../lib/html.js';
import { useResource } from '../lib/resource.js';
import { go, href } from '../lib/router.js';
import { Badge, Empty, Loading, Notice, PageHeader, Problem, Refreshed, When } from '../lib/ui.js';
import { errorCodes, errorTitle, portalFailureText, portalKeys, portalNames, pageWords, recordName } from '../lib/words.js';

const filterNames = ['portal', 'code', 'clientNumber', 'includeResolved', 'limit'];

function UnhealthyPortals({ portals }) {
  if (!portals.length) return null;
  return portals.map((p) => html`<${Notice} tone="bad">
    <strong>${portalNames[p.portal]} cannot be used at all</strong>${p.since ? html` since <${When} at=${p.since} />` : null}:
    ${p.lastFailure ? html`<span title=${p.lastFailure.code}>${portalFailureText(p.lastFailure)}</span>` : 'no answer.'}
    Every client waits for it; this is not an error of each client. See <a href=${href()}>Portal health</a>.
  <//>`);
}

function ErrorRow({ error }) {
  const open = error.resolvedAt === null;
  return html`<tr class=${open ? '' : 'resolved'}>
    <td class="nowrap">${recordName(error.recordType, error.recordId)}</td>
    <td><a href=${href('clients', error.clientNumber)}>${error.clientNumber}</a></td>
    <td class="nowrap">${portalNames[error.portal] ?? error.portal}</td>
    <td class="message-cell">
      <div class="error-title">${errorTitle(error.code)} <code class="quiet">${error.code}</code></div>
      <div>${pageWords(error.message)}</div>
    </td>
    <td><${When} at=${error.firstSeenAt} /></td>
    <td><${When} at=${error.lastSeenAt} relativeToo /></td>
    <td class="number">${error.attempts}</td>
    <td>${open ? html`<${Badge} tone="bad">Open<//>` : html`<${Badge} tone="good">Resolved<//> <div class="quiet"><${When} at=${error.resolvedAt} /></div>`}</td>
  </tr>`;
}

export function ErrorsPage({ route }) {
  const filters = Object.fromEntries(filterNames.map((name) => [name, route.query.get(name) ?? '']));
  const search = query(filters);
  const list = useResource(() => api('GET', `/sync/errors${search}`), [search], { pollMs: 15_000 });

  const apply = (event) => {
    const values = formValues(event);
    go('errors', { ...values, includeResolved: values.includeResolved ? 'true' : '' });
  };
  const data = list.data;
  const filtered = Boolean(filters.portal || filters.code || filters.clientNumber);

  return html`
    <${PageHeader}
      title="Sync errors"
      intro="Records a portal refused. Each one says what is wrong and what to do; when the data is fixed, the next sync resolves it by itself. Nothing else waits for these records."
    >
      <${Refreshed} resource=${list} />
    <//>
    <form class="filters" onSubmit=${apply} aria-label="Filter the sync errors">
      <div class="filter-field">
        <label for="filter-portal">Portal</label>
        <select id="filter-portal" name="portal" value=${filters.portal}>
          <option value="">Both portals</option>
          ${portalKeys.map((portal) => html`<option value=${portal}>${portalNames[portal]}</option>`)}
        </select>
      </div>
      <div class="filter-field">
        <label for="filter-code">Problem</label>
        <select id="filter-code" name="code" value=${filters.code}>
          <option value="">Every problem</option>
          ${Object.entries(errorCodes).map(([code, title]) => html`<option value=${code}>${title}</option>`)}
          ${filters.code && !errorCodes[filters.code] ? html`<option value=${filters.code}>${filters.code}</option>` : null}
        </select>
      </div>
      <label>Client number
        <input name="clientNumber" value=${filters.clientNumber} pattern=${clientNumberPattern} title=${clientNumberHint} placeholder="e.g. 1001" size="10" />
      </label>
      <label class="checkbox"><input type="checkbox" name="includeResolved" value="true" checked=${filters.includeResolved === 'true'} /> Also show resolved errors</label>
      <input type="hidden" name="limit" value=${filters.limit} />
      <div class="filter-buttons">
        <button type="submit">Show</button>
        ${filtered || filters.includeResolved ? html`<a class="button secondary" href=${href('errors')}>Clear filters</a>` : null}
      </div>
    </form>
    <${Problem} error=${list.error} title="Could not load the sync errors" fieldLabels=${{ code: 'Problem', limit: 'How many errors' }} />
    ${!data
      ? html`<${Loading} />`
      : html`
        <${UnhealthyPortals} portals=${data.portals} />
        ${data.errors.length === 0
          ? html`<${Empty}>${filtered ? 'No sync errors match these filters.' : 'No open sync errors. Every record the portals should hold, they accepted.'}<//>`
          : html`
            <p class="count">
              ${data.total === data.errors.length ? `${data.total} ${data.total === 1 ? 'error' : 'errors'}` : `Showing the ${data.errors.length} most recent of ${data.total} errors.`}
              ${data.total > data.errors.length && Number(filters.limit || 100) < 1000
                ? html` <a href=${href('errors', { ...filters, limit: 1000 })}>Show up to 1000</a>`
                : null}
            </p>
            <div class="table-wrap">
              <table class="errors-table">
                <thead><tr>
                  <th>Record</th><th>Client</th><th>Portal</th><th>Problem and what to do</th>
                  <th>First seen</th><th>Last seen</th><th title="How many syncs met this error">Syncs</th><th>Status</th>
                </tr></thead>
                <tbody>${data.errors.map((error) => html`<${ErrorRow} key=${error.id} error=${error} />`)}</tbody>
              </table>
            </div>`}
      `}
  `;
}
