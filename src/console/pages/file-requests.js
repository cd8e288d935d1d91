// File requests: ask a client for files in CaseWare Cloud, and follow each request until answered.
import { useState } from 'preact/hooks';
import { useAccess } from '../lib/access.js';
import { api, query } from '../lib/api.js';
import { clientNumberHint, clientNumberPattern, formValues } from '../lib/forms.js';
import { html } from '../lib/html.js';
import { useResource } from '../lib/resource.js';
import { go, href } from '../lib/router.js';
import { Empty, ExternalLink, Loading, Notice, PageHeader, Problem, Refreshed, Section, StatusBadge, When, temporalWorkflowUrl } from '../lib/ui.js';

const statusWords = {
  open: { label: 'Open', tone: 'busy' },
  overdue: { label: 'Overdue', tone: 'warn' },
  answered: { label: 'Answered', tone: 'good' },
  cancelled: { label: 'Cancelled', tone: 'quiet' },
  'no-recipients': { label: 'Nobody left to answer', tone: 'bad' },
  failed: { label: 'Failed', tone: 'bad' },
};

function NewFileRequest({ onCreated }) {
  const [error, setError] = useState(undefined);
  const [busy, setBusy] = useState(false);
  const operator = useAccess('operator');
  const submit = async (event) => {
    const form = event.currentTarget;
    const values = formValues(event);
    const contactIds = (values.contactIds ?? '').split(',').map((id) => id.trim()).filter((id) => id !== '').map(Number);
    setBusy(true);
    setError(undefined);
    try {
      const created = await api('POST', '/file-requests', {
        clientNumber: values.clientNumber,
        subject: values.subject,
        description: values.description ?? '',
        ...(values.dueDate ? { dueDate: values.dueDate } : {}),
        ...(contactIds.length ? { contactIds } : {}),
        ...(values.grantAnswerRole ? { grantAnswerRole: true } : {}),
      });
      form.reset();
      onCreated(created);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return html`<${Section} title="Ask a client for files" intro="A file request in CaseWare Cloud, for the contacts who may answer it (role Contact - Entity Staff). Reminders follow until it is answered.">
    <form class="stacked" onSubmit=${submit} aria-label="New file request">
      <label>Client number <input name="clientNumber" required pattern=${clientNumberPattern} title=${clientNumberHint} size="10" /></label>
      <label>Subject <input name="subject" required maxlength="200" size="50" /></label>
      <label>Description <textarea name="description" maxlength="5000" rows="3" cols="60"></textarea></label>
      <label>Due date <input name="dueDate" type="date" /></label>
      <label>Contacts <input name="contactIds" placeholder="ids, e.g. 12,13; empty: everyone who may answer" size="40" pattern="[0-9, ]*" /></label>
      <label class="checkbox"><input type="checkbox" name="grantAnswerRole" value="true" /> Give named contacts who may only view the role Contact - Entity Staff</label>
      <button type="submit" disabled=${busy || !operator.allowed} title=${operator.reason}>Send the request</button>
      <${Problem} error=${error} title="The request was not sent" />
    </form>
  <//>`;
}

function Row({ request, config, onChanged }) {
  const [error, setError] = useState(undefined);
  const operator = useAccess('operator');
  const open = request.closedAt === null;
  const cancel = async () => {
    setError(undefined);
    try {
      await api('POST', `/file-requests/${request.id}/cancel`);
      onChanged();
    } catch (failure) {
      setError(failure);
    }
  };
  const active = request.recipients.filter((r) => r.status === 'active');
  const removed = request.recipients.filter((r) => r.status === 'removed');
  return html`<tr>
    <td class="number">${request.id}</td>
    <td><a href=${href('clients', request.clientNumber)}>${request.clientNumber}</a></td>
    <td>${request.subject}</td>
    <td><${StatusBadge} status=${request.status} words=${statusWords} />${request.failure ? html`<div class="quiet">${request.failure}</div>` : null}</td>
    <td><${When} at=${request.dueAt} /></td>
    <td class="number">${request.remindersSent}</td>
    <td>${active.map((r) => `contact ${r.contactId}`).join(', ') || '—'}
      ${removed.length ? html`<div class="quiet">removed: ${removed.map((r) => `contact ${r.contactId} (${r.removedReason})`).join(', ')}</div>` : null}</td>
    <td>
      ${config ? html`<${ExternalLink} href=${temporalWorkflowUrl(config, request.workflowId)}>Workflow<//>` : null}
      ${open ? html` <button type="button" class="secondary" disabled=${!operator.allowed} title=${operator.reason} onClick=${cancel}>Cancel</button>` : null}
      <${Problem} error=${error} title="Not cancelled" />
    </td>
  </tr>`;
}

export function FileRequestsPage({ route, config }) {
  const filters = { clientNumber: route.query.get('clientNumber') ?? '', status: route.query.get('status') ?? '' };
  const search = query(filters);
  const list = useResource(() => api('GET', `/file-requests${search}`), [search], { pollMs: 10_000 });
  const [created, setCreated] = useState(undefined);
  const apply = (event) => go('file-requests', formValues(event));
  return html`
    <${PageHeader} title="File requests" intro="What the firm asked its clients for in CaseWare Cloud, and how far each request got.">
      <${Refreshed} resource=${list} />
    <//>
    <${NewFileRequest} onCreated=${(request) => { setCreated(request); void list.reload(); }} />
    ${created ? html`<${Notice} tone="good">File request ${created.id} was sent to ${created.recipients.length} ${created.recipients.length === 1 ? 'contact' : 'contacts'}.<//>` : null}
    <form class="filters" onSubmit=${apply} aria-label="Filter the file requests">
      <label>Client number <input name="clientNumber" value=${filters.clientNumber} pattern=${clientNumberPattern} title=${clientNumberHint} size="10" /></label>
      <div class="filter-field">
        <label for="filter-status">Status</label>
        <select id="filter-status" name="status" value=${filters.status}>
          <option value="">Every status</option>
          ${Object.entries(statusWords).map(([status, word]) => html`<option value=${status}>${word.label}</option>`)}
        </select>
      </div>
      <div class="filter-buttons"><button type="submit">Show</button></div>
    </form>
    <${Problem} error=${list.error} title="Could not load the file requests" />
    ${!list.data
      ? html`<${Loading} />`
      : list.data.fileRequests.length === 0
        ? html`<${Empty}>No file requests${search ? ' match these filters' : ' yet'}.<//>`
        : html`<div class="table-wrap"><table>
            <thead><tr><th>Id</th><th>Client</th><th>Subject</th><th>Status</th><th>Due</th><th>Reminders</th><th>Recipients</th><th></th></tr></thead>
            <tbody>${list.data.fileRequests.map((request) => html`<${Row} key=${request.id} request=${request} config=${config} onChanged=${() => void list.reload()} />`)}</tbody>
          </table></div>`}
  `;
}
