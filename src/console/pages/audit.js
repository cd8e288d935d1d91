// The audit (issue 18): what each token changed through the API, and what it was refused. Record
// ids and field names only: the API keeps no values, so there are none to show.
import { api, query } from '../lib/api.js';
import { clientNumberHint, clientNumberPattern, formValues } from '../lib/forms.js';
import { html } from '../lib/html.js';
import { useResource } from '../lib/resource.js';
import { go, href } from '../lib/router.js';
import { Badge, Empty, Loading, PageHeader, Problem, Refreshed, When } from '../lib/ui.js';

const filterNames = ['token', 'route', 'clientNumber', 'recordId', 'since', 'until', 'before'];

/** A datetime-local value (the reader's time) as the API takes it; invalid or empty: nothing. */
function moment(value) {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function RecordIds({ ids }) {
  const entries = Object.entries(ids);
  if (entries.length === 0) return html`<span class="quiet">—</span>`;
  return html`<ul class="plain-list">${entries.map(([name, value]) => html`<li>
    <span class="quiet">${name}</span> ${name === 'clientNumber' ? html`<a href=${href('clients', value)}>${value}</a>` : Array.isArray(value) ? value.join(', ') : value}
  </li>`)}</ul>`;
}

function EventRow({ event }) {
  const refused = event.status === 403;
  return html`<tr class=${refused ? 'refused' : ''}>
    <td class="nowrap"><${When} at=${event.at} /></td>
    <td><a href=${href('audit', { token: event.token })}>${event.token}</a></td>
    <td class="nowrap"><code>${event.method} ${event.route}</code></td>
    <td>${refused ? html`<${Badge} tone="bad">Refused<//>` : html`<${Badge} tone="good">Done<//>`} <span class="quiet">${event.status}</span></td>
    <td><${RecordIds} ids=${event.recordIds} /></td>
    <td>${event.fields.length ? event.fields.join(', ') : html`<span class="quiet">—</span>`}</td>
  </tr>`;
}

export function AuditPage({ route }) {
  const filters = Object.fromEntries(filterNames.map((name) => [name, route.query.get(name) ?? '']));
  const search = query({ ...filters, since: moment(filters.since), until: moment(filters.until), limit: 100 });
  const list = useResource(() => api('GET', `/audit${search}`), [search], { pollMs: 30_000 });

  const apply = (event) => {
    const values = formValues(event);
    go('audit', { ...values, before: '' });
  };
  const data = list.data;
  const filtered = filterNames.some((name) => name !== 'before' && filters[name]);

  return html`
    <${PageHeader}
      title="Audit"
      intro="Every change a token made through the API, and every request refused for want of a role or a second token: who, when, which route, which records and which fields. Never the values. Kept for good."
    >
      <${Refreshed} resource=${list} />
    <//>
    <form class="filters" onSubmit=${apply} aria-label="Filter the audit">
      <label>Token <input name="token" value=${filters.token} pattern="[a-z0-9][a-z0-9._\\-]{0,62}|\\(database\\)" placeholder="e.g. api" size="12" /></label>
      <label>Route <input name="route" value=${filters.route} pattern="\\/[A-Za-z0-9\\/:._\\-]*" title="A route pattern such as /clients or /offboardings" placeholder="e.g. /offboardings" size="18" /></label>
      <label>Client number <input name="clientNumber" value=${filters.clientNumber} pattern=${clientNumberPattern} title=${clientNumberHint} placeholder="e.g. 1001" size="10" /></label>
      <label>Record id <input name="recordId" value=${filters.recordId} pattern="[A-Za-z0-9._:\\-]{1,64}" placeholder="e.g. 42" size="8" /></label>
      <label>From <input type="datetime-local" name="since" value=${filters.since} /></label>
      <label>Until <input type="datetime-local" name="until" value=${filters.until} /></label>
      <div class="filter-buttons">
        <button type="submit">Show</button>
        ${filtered ? html`<a class="button secondary" href=${href('audit')}>Clear filters</a>` : null}
      </div>
    </form>
    <${Problem} error=${list.error} title="Could not load the audit" fieldLabels=${{ since: 'From', until: 'Until' }} />
    ${!data
      ? html`<${Loading} />`
      : data.events.length === 0
        ? html`<${Empty}>${filtered ? 'Nothing matches these filters.' : 'No token has changed anything yet.'}<//>`
        : html`
          <div class="table-wrap">
            <table class="audit-table">
              <thead><tr><th>When</th><th>Token</th><th>What</th><th>Answer</th><th>Records</th><th>Fields sent</th></tr></thead>
              <tbody>${data.events.map((event) => html`<${EventRow} key=${event.id} event=${event} />`)}</tbody>
            </table>
          </div>
          <p class="count">
            ${filters.before ? html`<a href=${href('audit', { ...filters, before: '' })}>Newest</a> · ` : null}
            ${data.next ? html`<a href=${href('audit', { ...filters, before: data.next })}>Older events</a>` : 'No older events.'}
          </p>`}
  `;
}
