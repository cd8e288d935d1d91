// File requests: ask a client for files in CaseWare Cloud, and follow each request until answered.
import { useState } from 'preact/hooks';
import { useAccess } from '../lib/access.js';
import { api, query } from '../lib/api.js';
import { clientNumberHint, clientNumberPattern, formValues } from '../lib/forms.js';
import { html } from '../lib/html.js';
import { useResource } from '../lib/resource.js';
import { go, href } from '../lib/router.js';
import { Empty, ExternalLink, Loading, Notice, PageHeader, Problem, Refreshed, Section, StatusBadge, When, temporalWorkflowUrl } from '../lib/ui.js';
import { counted, pageWords } from '../lib/words.js';

const statusWords = {
  open: { label: 'Open', tone: 'busy' },
  overdue: { label: 'Overdue', tone: 'warn' },
  answered: { label: 'Answered', tone: 'good' },
  cancelled: { label: 'Cancelled', tone: 'quiet' },
  'no-recipients': { label: 'Nobody left to answer', tone: 'bad' },
  failed: { label: 'Failed', tone: 'bad' },
};

const answerWords = {
  'may-answer': { label: 'May answer', tone: 'good' },
  'needs-answering-role': { label: 'May only view', tone: 'warn' },
  cannot: { label: 'Cannot answer', tone: 'bad' },
};

const contactLabel = (contact) => contact.name ?? `contact ${contact.contactId}`;

/** The client's contacts, to tick as recipients; one that cannot answer says why and cannot be ticked. */
function RecipientTable({ contacts, ticked, onToggle }) {
  return html`<div class="table-wrap"><table class="recipients">
    <thead><tr><th>Send to</th><th>Contact</th><th>May answer?</th></tr></thead>
    <tbody>${contacts.map((contact) => {
      const cannot = contact.answer === 'cannot';
      return html`<tr key=${contact.contactId} class=${cannot ? 'unavailable' : ''}>
        <td><label class="checkbox" title=${cannot ? contact.sentence : undefined}>
          <input type="checkbox" name="contactIds" value=${contact.contactId} disabled=${cannot}
            checked=${ticked.has(contact.contactId)} onChange=${() => onToggle(contact.contactId)} />
          ${contactLabel(contact)}
        </label></td>
        <td class="number">${contact.contactId}</td>
        <td><${StatusBadge} status=${contact.answer} words=${answerWords} />
          ${contact.answer === 'may-answer' ? null : html` <span class="quiet">${contact.sentence}</span>`}</td>
      </tr>`;
    })}</tbody>
  </table></div>`;
}

function Recipients({ clientNumber, recipients, ticked, onToggle, grant }) {
  if (!clientNumber) {
    return html`<p class="hint">Enter a client number and choose <strong>Show contacts</strong> to pick the recipients.</p>`;
  }
  if (recipients.error) return html`<${Problem} error=${recipients.error} title=${`Could not read the contacts of client ${clientNumber}`} />`;
  if (!recipients.data) return html`<${Loading} what="Reading the contacts" />`;
  const { contacts, clientRefusal } = recipients.data;
  const viewOnlyTicked = contacts.filter((c) => ticked.has(c.contactId) && c.answer === 'needs-answering-role');
  return html`
    ${clientRefusal ? html`<${Notice} tone="warn">${pageWords(clientRefusal)}<//>` : null}
    ${contacts.length === 0
      ? html`<${Empty}>Client ${clientNumber} has no contacts.<//>`
      : html`<p class="hint">Tick the contacts to send it to. With none ticked, it goes to every contact who may answer${grant ? ' or may only view' : ''}.</p>
          <${RecipientTable} contacts=${contacts} ticked=${ticked} onToggle=${onToggle} />`}
    ${viewOnlyTicked.length > 0 && !grant
      ? html`<${Notice} tone="warn">${viewOnlyTicked.map(contactLabel).join(', ')} may only view: give the answering role below, or the request is refused.<//>`
      : null}`;
}

function useRecipients(clientNumber) {
  return useResource(
    () => (clientNumber ? api('GET', `/file-requests/recipients${query({ clientNumber })}`) : Promise.resolve(undefined)),
    [clientNumber],
  );
}

function RequestFields({ clientNumber, onClientNumber, onLookUp }) {
  const lookUpOnEnter = (event) => {
    if (event.key !== 'Enter') return;
    event.preventDefault();
    onLookUp();
  };
  return html`
    <label for="file-request-client">Client number</label>
    <div class="field-row">
      <input id="file-request-client" name="clientNumber" required pattern=${clientNumberPattern} title=${clientNumberHint} size="12" placeholder="e.g. 1001"
        value=${clientNumber} onInput=${(event) => onClientNumber(event.currentTarget.value)} onChange=${onLookUp} onKeyDown=${lookUpOnEnter} />
      <button type="button" class="secondary" onClick=${onLookUp}>Show contacts</button>
    </div>
    <label for="file-request-subject">Subject</label>
    <input id="file-request-subject" name="subject" required maxlength="200" class="wide" />
    <label for="file-request-description">Description</label>
    <textarea id="file-request-description" name="description" maxlength="5000" rows="3"></textarea>
    <label for="file-request-due">Due date</label>
    <div class="field-row"><input id="file-request-due" name="dueDate" type="date" /><span class="hint">optional; reminders follow before and after it</span></div>`;
}

function useRequestForm(onCreated) {
  const [clientNumber, setClientNumber] = useState('');
  const [shown, setShown] = useState('');
  const [ticked, setTicked] = useState(new Set());
  const [grant, setGrant] = useState(false);
  const [error, setError] = useState(undefined);
  const [busy, setBusy] = useState(false);
  const changeClient = (value) => {
    setClientNumber(value);
    if (value.trim() !== shown) {
      setShown('');
      setTicked(new Set());
    }
  };
  const lookUp = () => {
    const wanted = clientNumber.trim();
    if (new RegExp(`^${clientNumberPattern}$`).test(wanted) && wanted !== shown) setShown(wanted);
  };
  const toggle = (contactId) => {
    const next = new Set(ticked);
    if (!next.delete(contactId)) next.add(contactId);
    setTicked(next);
  };
  const submit = async (event) => {
    const form = event.currentTarget;
    const values = formValues(event);
    const contactIds = values.clientNumber === shown ? [...ticked] : [];
    setBusy(true);
    setError(undefined);
    try {
      const created = await api('POST', '/file-requests', {
        clientNumber: values.clientNumber,
        subject: values.subject,
        description: values.description ?? '',
        ...(values.dueDate ? { dueDate: values.dueDate } : {}),
        ...(contactIds.length ? { contactIds } : {}),
        ...(grant ? { grantAnswerRole: true } : {}),
      });
      form.reset();
      changeClient('');
      setGrant(false);
      onCreated(created);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return { clientNumber, shown, ticked, grant, error, busy, changeClient, lookUp, toggle, setGrant, submit };
}

function NewFileRequest({ created, onCreated }) {
  const form = useRequestForm(onCreated);
  const recipients = useRecipients(form.shown);
  const operator = useAccess('operator');
  return html`<${Section} title="Ask a client for files" intro="A file request in CaseWare Cloud, for the contacts who may answer it (role Contact - Entity Staff). Reminders follow until it is answered.">
    <form class="request-form" onSubmit=${form.submit} aria-label="New file request">
      <div class="form-grid">
        <${RequestFields} clientNumber=${form.clientNumber} onClientNumber=${form.changeClient} onLookUp=${form.lookUp} />
        <span class="form-grid-label">Recipients</span>
        <div class="recipients-field">
          <${Recipients} clientNumber=${form.shown} recipients=${recipients} ticked=${form.ticked} onToggle=${form.toggle} grant=${form.grant} />
          <label class="checkbox grant">
            <input type="checkbox" name="grantAnswerRole" checked=${form.grant} onChange=${(event) => form.setGrant(event.currentTarget.checked)} />
            Give the answering role (Contact - Entity Staff) to those who may only view
          </label>
          <p class="hint">The role goes to each ticked contact who may only view; with none ticked, to every contact of the client who may only view.</p>
        </div>
      </div>
      <div class="form-buttons">
        <button type="submit" disabled=${form.busy || !operator.allowed} title=${operator.reason}>Send the request</button>
      </div>
      <${Problem} error=${form.error} title="The request was not sent" />
      ${created
        ? html`<div role="status" class="sent"><${Notice} tone="good">File request ${created.id} was sent to ${counted(created.recipients.length, 'contact')}.<//></div>`
        : null}
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
    <td>${active.map(contactLabel).join(', ') || '—'}
      ${removed.length ? html`<div class="quiet">removed: ${removed.map((r) => `${contactLabel(r)} (${r.removedReason})`).join(', ')}</div>` : null}</td>
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
    <${NewFileRequest} created=${created} onCreated=${(request) => { setCreated(request); void list.reload(); }} />
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
