// One client: what each portal holds of it, whether it is up to date, and its errors.
import { ActionLink } from '../lib/access.js';
import { api } from '../lib/api.js';
import { clientNumberHint, clientNumberPattern, formValues } from '../lib/forms.js';
import { html } from '../lib/html.js';
import { useResource } from '../lib/resource.js';
import { go, href } from '../lib/router.js';
import { Badge, Empty, ExternalLink, Loading, PageHeader, Problem, Refreshed, Section, When, temporalSearchUrl, temporalWorkflowUrl } from '../lib/ui.js';
import { accessStates, errorTitle, eventKinds, portalKeys, portalNames, pageWords, recordName, syncStates } from '../lib/words.js';

const kinds = { company: 'Company', person: 'Person (private client)' };
const statuses = { client: 'Client', suspect: 'Suspect (prospect)', former: 'Former client' };

function personName(record) {
  return [record.firstName, record.infix, record.lastName].filter(Boolean).join(' ') || null;
}

export function FindClient({ current }) {
  const find = (event) => {
    const { clientNumber } = formValues(event);
    if (clientNumber) go('clients', clientNumber);
  };
  return html`<form class="find-client" onSubmit=${find} role="search" aria-label="Find a client">
    <label>Client number
      <input name="clientNumber" value=${current ?? ''} required pattern=${clientNumberPattern} title=${clientNumberHint} placeholder="e.g. 1001" size="12" />
    </label>
    <button type="submit">Show status</button>
  </form>`;
}

function OnOff({ on }) {
  return on ? html`<${Badge} tone="good">On<//>` : html`<${Badge} tone="quiet">Off<//>`;
}

function recordLabel(row, contactsById, client) {
  if (row.recordType === 'contact') {
    const contact = contactsById.get(row.recordId);
    const name = contact ? personName(contact) ?? contact.email : null;
    return html`${recordName('contact', row.recordId)}${name ? html`<div class="quiet">${name}</div>` : null}`;
  }
  if (row.recordType === 'client' && row.recordId === client.id) return html`This client <span class="quiet">(${client.clientNumber})</span>`;
  return recordName(row.recordType, row.recordId);
}

function PortalStatus({ portal, status, client, contactsById }) {
  // Pending at a held portal: the changes wait for the release, not for seconds.
  const shown = status.state === 'pending' && status.held ? 'held' : status.state;
  const state = syncStates[shown] ?? { label: status.state, tone: 'quiet', explain: '' };
  return html`<section class="card portal-status" data-portal=${portal}>
    <div class="card-header">
      <h2>${portalNames[portal]}</h2>
      <${Badge} tone=${state.tone}>${state.label}<//>
    </div>
    <p class="card-intro">${state.explain}</p>
    <dl class="facts">
      <dt>Link switch</dt><dd><${OnOff} on=${status.linked} /></dd>
      <dt>Last sync</dt><dd><${When} at=${status.lastSyncedAt} relativeToo /></dd>
    </dl>
    <h3>What ${portalNames[portal]} holds</h3>
    ${status.remote.length === 0
      ? html`<${Empty}>Nothing of this client has been sent to ${portalNames[portal]}.<//>`
      : html`<div class="table-wrap"><table>
          <thead><tr><th>Record</th><th>Id in the portal</th><th>Access</th><th>Sent</th></tr></thead>
          <tbody>${status.remote.map((row) => html`<tr>
            <td>${recordLabel(row, contactsById, client)}</td>
            <td class="remote-id"><code>${row.remoteId ?? '—'}</code></td>
            <td>${row.access === 'active' ? html`<${Badge} tone="good">${accessStates.active}<//>` : html`<${Badge} tone="quiet">${accessStates[row.access] ?? row.access}<//>`}</td>
            <td><${When} at=${row.syncedAt} /></td>
          </tr>`)}</tbody>
        </table></div>`}
    ${status.errors.length
      ? html`<h3>Sync errors</h3>
          <ul class="error-list">
            ${status.errors.map((error) => html`<li>
              <strong>${errorTitle(error.code)}</strong> (${recordName(error.recordType, error.recordId)}, since <${When} at=${error.firstSeenAt} />)
              <div>${pageWords(error.message)}</div>
            </li>`)}
          </ul>
          <p><a href=${href('errors', { portal, clientNumber: client.clientNumber })}>All of this client's ${portalNames[portal]} errors</a></p>`
      : null}
  </section>`;
}

async function loadClient(number) {
  const [client, sync] = await Promise.all([api('GET', `/clients/${encodeURIComponent(number)}`), api('GET', `/sync/clients/${encodeURIComponent(number)}`)]);
  return { client, sync };
}

function ClientStatus({ number, config }) {
  const resource = useResource(() => loadClient(number), [number], { pollMs: 4_000 });
  if (resource.error?.status === 404) {
    return html`<${Empty}>There is no client with number ${number} in the registry.<//>`;
  }
  const data = resource.data;
  if (!data) return html`<${Problem} error=${resource.error} title="Could not load the client" /><${Loading} />`;
  const { client, sync } = data;
  const contactsById = new Map(client.contacts.map((contact) => [contact.id, contact]));
  const workflowId = `client-${client.clientNumber}`;
  const offboardKind = client.kind === 'company' ? 'client-leaves' : 'person-leaves';
  return html`
    <${Problem} error=${resource.error} title="Could not refresh" />
    <section class="card client-card">
      <div class="card-header">
        <h2>Client ${client.clientNumber} <span class="client-name">${client.name}</span></h2>
        <${Refreshed} resource=${resource} />
      </div>
      <dl class="facts inline">
        <dt>Kind</dt><dd>${kinds[client.kind] ?? client.kind}</dd>
        <dt>Status</dt><dd>${statuses[client.status] ?? client.status}</dd>
        <dt>CaseWare Cloud link</dt><dd><${OnOff} on=${client.links.caseware} /></dd>
        <dt>Client Online link</dt><dd><${OnOff} on=${client.links.clientOnline} /></dd>
      </dl>
      <p class="temporal-links">
        ${'Its background sync in the Temporal Web UI: '}
        <${ExternalLink} href=${temporalWorkflowUrl(config, workflowId)} className="temporal-workflow">workflow ${workflowId}<//>
        ${' · '}
        <${ExternalLink} href=${temporalSearchUrl(config, `ClientNumber="${client.clientNumber}"`)} className="temporal-search">every run of it<//>
        ${' · '}
        <${ExternalLink} href=${temporalSearchUrl(config, `OffboardingClients="${client.clientNumber}"`)} className="temporal-offboardings">offboardings of this client<//>
      </p>
      <p><${ActionLink} role="operator" className="button secondary" href=${href('offboardings', 'new', { kind: offboardKind, clientNumber: client.clientNumber })}>Offboard this client…<//></p>
    </section>
    <div class="portal-stack">
      ${portalKeys.map((portal) => html`<${PortalStatus} portal=${portal} status=${sync[portal]} client=${client} contactsById=${contactsById} />`)}
    </div>
    <${Section} title="Changes on their way" intro="Registry changes not yet handed to the background sync. They normally leave within a second.">
      ${sync.pendingEvents.length === 0
        ? html`<${Empty}>None: every change has been handed to the sync.<//>`
        : html`<div class="table-wrap"><table>
            <thead><tr><th>Change</th><th>Record</th><th>Made</th><th>Tries</th><th>Last problem</th></tr></thead>
            <tbody>${sync.pendingEvents.map((event) => html`<tr>
              <td>${eventKinds[event.kind] ?? event.kind}</td>
              <td>${recordName(event.recordType, event.recordId)}</td>
              <td><${When} at=${event.createdAt} relativeToo /></td>
              <td class="number">${event.attempts}</td>
              <td>${event.lastError ? pageWords(event.lastError) : '—'}</td>
            </tr>`)}</tbody>
          </table></div>`}
    <//>
    ${client.kind === 'company'
      ? html`<${Section} title="Contacts" intro="The people registered at this company, and their portal links.">
          ${client.contacts.length === 0
            ? html`<${Empty}>No contacts.<//>`
            : html`<div class="table-wrap"><table>
                <thead><tr><th>Contact</th><th>Name</th><th>Business email</th><th>CaseWare Cloud</th><th>Client Online</th><th>Follows</th><th></th></tr></thead>
                <tbody>${client.contacts.filter((c) => !c.deletedAt).map((contact) => html`<tr>
                  <td>${contact.id}</td>
                  <td>${personName(contact) ?? html`<span class="quiet">no name</span>`}</td>
                  <td>${contact.email ?? html`<span class="quiet">none</span>`}</td>
                  <td><${OnOff} on=${contact.links.caseware} /></td>
                  <td><${OnOff} on=${contact.links.clientOnline} /></td>
                  <td>${contact.masterClientNumber
                    ? html`client <a href=${href('clients', contact.masterClientNumber)}>${contact.masterClientNumber}</a>`
                    : contact.masterContactId !== null ? `contact ${contact.masterContactId}` : '—'}</td>
                  <td><${ActionLink} role="operator" className="" href=${href('offboardings', 'new', { kind: 'revoke-contact-access', contactId: contact.id })}>Remove access…<//></td>
                </tr>`)}</tbody>
              </table></div>`}
        <//>`
      : null}
  `;
}

export function ClientPage({ route, config }) {
  const number = route.segments[1];
  return html`
    <${PageHeader} title="Client status" intro="Per portal: what it holds of the client, whether every change has arrived, and what it refused." />
    <${FindClient} current=${number} />
    ${number ? html`<${ClientStatus} key=${number} number=${number} config=${config} />` : html`<${Empty}>Enter a client number to see its status.<//>`}
  `;
}
