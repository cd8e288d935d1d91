// Offboardings: plan one (dry run), carry it out, approve or cancel it, and follow its steps.
import { useState } from 'preact/hooks';
import { ActionLink, useAccess, useCaller } from '../lib/access.js';
import { api } from '../lib/api.js';
import { clientNumberHint, clientNumberPattern } from '../lib/forms.js';
import { html } from '../lib/html.js';
import { useResource } from '../lib/resource.js';
import { go, href } from '../lib/router.js';
import { Empty, ExternalLink, Loading, Notice, PageHeader, Problem, Refreshed, Section, StatusBadge, When, temporalWorkflowUrl } from '../lib/ui.js';
import { counted, offboardingKinds, offboardingStatuses, pageWords, portalKeys, portalNames, sentence, stepActions, stepStatuses } from '../lib/words.js';

const finished = (offboarding) => offboarding.finishedAt !== null;
// Followed until it has finished and its status says so too (the two are written separately).
const stillMoving = (offboarding) => !finished(offboarding) || offboarding.status === 'running' || offboarding.status === 'awaiting-approval';

const clientStatuses = { client: 'client', suspect: 'suspect', former: 'former client' };

/** What a step's registry change did (activities/offboarding.ts records it), in words. */
function changedText(changed) {
  if (changed === null) return null;
  const parts = Object.entries(changed).map(([key, value]) => {
    switch (key) {
      case 'linksOff':
        return `switched the ${value.map((portal) => portalNames[portal] ?? portal).join(' and ')} link off`;
      case 'status':
        return `status changed from ${clientStatuses[value.from] ?? value.from} to ${clientStatuses[value.to] ?? value.to}`;
      case 'masterLinkEnded':
        return 'ended the master link';
      case 'recordGone':
        return 'the record had been deleted meanwhile: nothing left to end';
      default:
        return `${key}: ${JSON.stringify(value)}`;
    }
  });
  return parts.length ? sentence(parts.join('; ')) : 'Nothing needed changing in the registry: it was already so';
}

function personName(record) {
  return [record.firstName, record.infix, record.lastName].filter(Boolean).join(' ') || record.email || null;
}

/**
 * The names of the plan's contacts, read from the registry for this page only: plans and their
 * URLs carry record ids, never names.
 */
function useContactNames(contactIds) {
  const key = contactIds.join(',');
  const names = useResource(async () => {
    const found = await Promise.all(contactIds.slice(0, 100).map((id) => api('GET', `/contacts/${id}`).catch(() => undefined)));
    return new Map(found.filter(Boolean).map((contact) => [contact.id, personName(contact)]));
  }, [key]);
  return names.data ?? new Map();
}

function requestText(request) {
  switch (request.kind) {
    case 'revoke-contact-access':
      return `contact ${request.contactId}, ${(request.portals ?? portalKeys).map((p) => portalNames[p]).join(' and ')}`;
    case 'person-leaves':
      return `person client ${request.clientNumber}${request.companies ? `, leaving ${request.companies.join(', ')}` : ', leaving every company'}`;
    default:
      return `client ${request.clientNumber}`;
  }
}

function Effects({ effects }) {
  return html`<div class="effects">
    ${portalKeys.map((portal) => html`<div class="effect" data-portal=${portal}>
      <h4>${portalNames[portal]}</h4>
      <ul>${effects[portal].map((line) => html`<li class=${line.startsWith('NEW login') ? 'warning-line' : line === 'no change' ? 'quiet' : ''}>${sentence(line)}</li>`)}</ul>
    </div>`)}
  </div>`;
}

/** The ordered steps of a plan; with `records`, each step's progress too. */
function Steps({ steps, records, contactIds }) {
  const byStep = new Map((records ?? []).map((record) => [record.step, record]));
  const names = useContactNames(contactIds);
  return html`<ol class="steps">
    ${steps.map((step) => {
      const record = byStep.get(step.step);
      return html`<li class=${`step ${record ? `step-${record.status}` : ''}`} data-step=${step.step}>
        <div class="step-header">
          <span class="step-number">${step.step}</span>
          <div class="step-title">
            <div class="step-action">${stepActions[step.action] ?? step.action}</div>
            <strong>${sentence(step.summary)}</strong>
            ${step.contactId !== undefined && names.get(step.contactId) ? html` <span class="quiet">(contact ${step.contactId} is ${names.get(step.contactId)})</span>` : null}
          </div>
          ${record ? html`<${StatusBadge} status=${record.status} words=${stepStatuses} />` : null}
        </div>
        <${Effects} effects=${step.effects} />
        ${record && (record.startedAt || record.changed || record.refusal)
          ? html`<div class="step-progress">
              ${record.changed ? html`<p class="step-changed">${changedText(record.changed)}.</p>` : null}
              ${record.refusal ? html`<${Notice} tone="bad"><strong>Refused, so not done:</strong> ${pageWords(record.refusal)}<//>` : null}
              <dl class="facts inline step-times">
                <dt>Started</dt><dd><${When} at=${record.startedAt} /></dd>
                <dt>Registry changed</dt><dd><${When} at=${record.appliedAt} /></dd>
                <dt>Every portal done</dt><dd><${When} at=${record.completedAt} /></dd>
              </dl>
            </div>`
          : null}
      </li>`;
    })}
  </ol>`;
}

/** Every access the plan ends, per portal: what the approval threshold counts. */
function Removes({ removes }) {
  const { caseware, clientOnline } = removes.accessEnded;
  const total = caseware + clientOnline;
  // One line each: htm drops whitespace that holds a line break.
  return html`<p class="removes">
    This plan ends <strong>${total}</strong> ${total === 1 ? 'access' : 'accesses'}: <strong>${caseware}</strong> at CaseWare Cloud (${caseware === 1 ? 'a contact losing a client' : 'contacts losing a client'}) and <strong>${clientOnline}</strong> at Client Online (${clientOnline === 1 ? 'a login losing a client' : 'logins losing a client'}; ${removes.logins} ${removes.logins === 1 ? 'login is' : 'logins are'} deleted).
  </p>`;
}

// --- The list ---

export function OffboardingListPage() {
  const list = useResource(() => api('GET', '/offboardings'), [], { pollMs: 5_000 });
  return html`
    <${PageHeader} title="Offboardings" intro="People and clients leaving the portals, step by step from the bottom up, so that nobody keeps access by mistake and nobody gets new credentials.">
      <${ActionLink} role="operator" href=${href('offboardings', 'new')}>New offboarding…<//>
    <//>
    <${Problem} error=${list.error} title="Could not load the offboardings" />
    ${!list.data
      ? html`<${Loading} />`
      : list.data.offboardings.length === 0
        ? html`<${Empty}>No offboarding yet.<//>`
        : html`<div class="table-wrap"><table>
            <thead><tr><th>Offboarding</th><th>What</th><th>Records</th><th>Status</th><th>Steps</th><th>Asked for</th><th>Finished</th></tr></thead>
            <tbody>${list.data.offboardings.map((o) => html`<tr>
              <td class="nowrap"><a href=${href('offboardings', o.id)}>Offboarding ${o.id}</a></td>
              <td>${offboardingKinds[o.kind]?.label ?? o.kind}</td>
              <td>${requestText(o.request)}</td>
              <td><${StatusBadge} status=${o.status} words=${offboardingStatuses} /></td>
              <td class="number">${o.plan.steps.length}</td>
              <td class="nowrap"><${When} at=${o.createdAt} /></td>
              <td class="nowrap"><${When} at=${o.finishedAt} /></td>
            </tr>`)}</tbody>
          </table></div>
          <${Refreshed} resource=${list} />`}
  `;
}

// --- A new one: the form, the dry run, and carrying it out ---

/** The request exactly as POST /offboardings takes it, from the form's fields. */
function requestBody(kind, fields) {
  const reason = fields.reason.trim() || undefined;
  switch (kind) {
    case 'revoke-contact-access': {
      const portals = portalKeys.filter((portal) => fields.portals[portal]);
      return { kind, contactId: Number(fields.contactId), ...(portals.length === portalKeys.length ? {} : { portals }), reason };
    }
    case 'person-leaves': {
      const companies = fields.companies.split(/[\s,;]+/).filter(Boolean);
      return { kind, clientNumber: fields.clientNumber.trim(), ...(companies.length ? { companies } : {}), reason };
    }
    default:
      return { kind, clientNumber: fields.clientNumber.trim(), reason };
  }
}

// --- The new-offboarding form's parts ---

/** The form's labels, for the fields a refusal names (body.clientNumber → "Company client number"). */
function offboardingFieldLabels(kind) {
  return {
    kind: 'What happens?',
    clientNumber: kind === 'client-leaves' ? 'Company client number' : 'Person client number',
    contactId: 'Contact id',
    portals: 'Portals',
    companies: 'Companies the person leaves',
    reason: 'Reason',
  };
}

function ClientNumberField({ label, hint, fields, change }) {
  return html`<label class="field">${label}
    <input name="clientNumber" required value=${fields.clientNumber} pattern=${clientNumberPattern} title=${clientNumberHint}
      onInput=${(e) => change({ clientNumber: e.currentTarget.value })} placeholder="e.g. 1001" size="12" />
    ${hint ? html`<span class="hint">${hint}</span>` : null}
  </label>`;
}

function KindChoice({ kind, onChoose }) {
  return html`<fieldset class="kinds">
    <legend>What happens?</legend>
    ${Object.entries(offboardingKinds).map(([value, word]) => html`<label class=${`kind-option ${kind === value ? 'chosen' : ''}`}>
      <input type="radio" name="kind" value=${value} checked=${kind === value} onChange=${() => onChoose(value)} />
      <span><strong>${word.label}</strong><span class="hint">${word.explain}</span></span>
    </label>`)}
  </fieldset>`;
}

/** The records the offboarding is about, which depend on its kind, and the reason. */
function RecordFields({ kind, fields, change }) {
  return html`<fieldset class="records">
    <legend>Which records?</legend>
    ${kind === 'revoke-contact-access'
      ? html`<label class="field">Contact id
          <input name="contactId" type="number" min="1" step="1" required value=${fields.contactId}
            onInput=${(e) => change({ contactId: e.currentTarget.value })} placeholder="e.g. 12" size="8" />
          <span class="hint">The contact's number in the registry (see the client's status page).</span>
        </label>
        <div class="field">Portals
          ${portalKeys.map((portal) => html`<label class="checkbox"><input type="checkbox" name=${`portal-${portal}`} checked=${fields.portals[portal]}
            onChange=${(e) => change({ portals: { ...fields.portals, [portal]: e.currentTarget.checked } })} /> ${portalNames[portal]}</label>`)}
        </div>`
      : null}
    ${kind === 'person-leaves'
      ? html`<${ClientNumberField} label="Person client number" fields=${fields} change=${change} />
        <label class="field">Companies the person leaves
          <input name="companies" value=${fields.companies} pattern="[A-Za-z0-9\\-, ;]*" title="Client numbers, separated by commas"
            onInput=${(e) => change({ companies: e.currentTarget.value })} placeholder="e.g. 1001, 1002" size="30" />
          <span class="hint">Client numbers, separated by commas. Empty: every company where the person is a contact.</span>
        </label>`
      : null}
    ${kind === 'person-deceased' ? html`<${ClientNumberField} label="Person client number" fields=${fields} change=${change} />` : null}
    ${kind === 'client-leaves' ? html`<${ClientNumberField} label="Company client number" fields=${fields} change=${change} />` : null}
    <label class="field"><span>Reason <span class="quiet">(optional)</span></span>
      <textarea name="reason" rows="2" maxlength="2000" onInput=${(e) => change({ reason: e.currentTarget.value })}>${fields.reason}</textarea>
      <span class="hint">Kept with the offboarding's record; never sent to a portal.</span>
    </label>
  </fieldset>`;
}

const requestSubjects = { 'revoke-contact-access': 'contact', 'person-leaves': 'person', 'person-deceased': 'person', 'client-leaves': 'client' };
const underWayWords = { 'awaiting-approval': 'is already waiting for approval', running: 'is already running' };

/** The offboardings under way that hold the dry run's records: carrying it out is refused until they finish. */
function AlreadyUnderWay({ underWay, kind }) {
  return underWay.map(
    (offboarding) => html`<div class="notice notice-warn already-under-way" role="alert">
      <strong><a href=${href('offboardings', offboarding.id)}>Offboarding ${offboarding.id}</a> for this ${requestSubjects[kind] ?? 'record'} ${underWayWords[offboarding.status] ?? `is already under way (${offboarding.status})`}.</strong>
      ${' This plan cannot be carried out until it has finished or is cancelled.'}
    </div>`,
  );
}

/**
 * Whether the plan, carried out now by this token, would wait for a second operator's approval,
 * as the dry run answered it. An API without Temporal answers no outlook: then only the rule.
 */
function ApprovalOutlook({ answer }) {
  const { approvalRequired, approvalReason, approvalBudget: budget } = answer;
  if (approvalRequired === undefined || !budget) {
    return html`<${Notice}>A plan that ends many accesses (alone, or with the same token's recent offboardings that needed no approval) waits for a person's approval before it changes anything.<//>`;
  }
  const ends = `This plan ends ${counted(budget.accessesEnded, 'access', 'accesses')}`;
  if (approvalRequired) {
    return html`<div class="notice notice-warn approval-outlook" data-approval="required">
      <strong>${ends}; carried out, it will wait for a second operator's approval before anything changes.</strong>
      ${` ${pageWords(approvalReason ?? 'it ends more accesses than the approval threshold')} Another token with the operator role approves it (four eyes).`}
    </div>`;
  }
  const withEarlier = budget.earlierAccessesEnded > 0
    ? `; with the ${budget.earlierAccessesEnded} ended by your recent ${budget.earlierOffboardings.length === 1 ? 'offboarding' : 'offboardings'} that needed no approval, that is ${budget.accessesEnded + budget.earlierAccessesEnded}`
    : '';
  return html`<div class="notice notice-info approval-outlook" data-approval="not-required">
    ${`${ends}${withEarlier}, within the approval threshold (${budget.threshold}): carried out, it starts at once, without waiting for approval.`}
  </div>`;
}

/** The dry run's plan, whether carrying it out would wait for approval, and the button that carries it out. */
function PlanPreview({ answer, kind, busy, onExecute }) {
  const { plan } = answer;
  const underWay = answer.alreadyUnderWay ?? [];
  const blocked = underWay.length > 0 ? `Offboarding ${underWay[0].id} holds these records; it must finish or be cancelled first.` : undefined;
  return html`<${Section} title="The plan" intro=${`${plan.steps.length === 0 ? 'No steps' : `${counted(plan.steps.length, 'step')}, in this order`}. Each waits until every portal has applied the one before.`}>
    <${AlreadyUnderWay} underWay=${underWay} kind=${kind} />
    <${Removes} removes=${plan.removes} />
    ${plan.steps.length === 0 ? html`<${Empty}>Nothing to do: these records have no access to remove.<//>` : html`<${Steps} steps=${plan.steps} contactIds=${plan.contactIds} />`}
    <${ApprovalOutlook} answer=${answer} />
    <div class="form-buttons">
      <button type="button" class="danger" disabled=${busy || plan.steps.length === 0 || blocked !== undefined} title=${blocked} onClick=${onExecute}>Carry it out</button>
    </div>
  <//>`;
}

export function NewOffboardingPage({ route }) {
  const initialKind = offboardingKinds[route.query.get('kind')] ? route.query.get('kind') : 'client-leaves';
  const [kind, setKind] = useState(initialKind);
  const [fields, setFields] = useState({
    clientNumber: route.query.get('clientNumber') ?? '',
    contactId: route.query.get('contactId') ?? '',
    companies: '',
    portals: { caseware: true, clientOnline: true },
    reason: '',
  });
  const [plan, setPlan] = useState(undefined);
  const [error, setError] = useState(undefined);
  const [busy, setBusy] = useState(false);
  const operator = useAccess('operator');

  const change = (update) => {
    setFields((previous) => ({ ...previous, ...update }));
    // A plan shown belongs to the fields it was made for.
    setPlan(undefined);
  };
  const chooseKind = (next) => {
    setKind(next);
    setPlan(undefined);
    setError(undefined);
  };

  const dryRun = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const body = requestBody(kind, fields);
      const answer = await api('POST', '/offboardings', body);
      setPlan({ body, kind, answer });
    } catch (failure) {
      setError(failure);
      setPlan(undefined);
    } finally {
      setBusy(false);
    }
  };

  const execute = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const started = await api('POST', '/offboardings', { ...plan.body, execute: true });
      go('offboardings', started.id);
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };

  return html`
    <${PageHeader} title="New offboarding" intro="Choose what happens, then look at the plan before anything changes. Nothing is changed until you choose “Carry it out”." />
    ${operator.allowed ? null : html`<${Notice} tone="warn">${operator.reason} Planning and carrying out an offboarding is an operator's work.<//>`}
    <form class="card offboarding-form" onSubmit=${dryRun}>
      <${KindChoice} kind=${kind} onChoose=${chooseKind} />
      <${RecordFields} kind=${kind} fields=${fields} change=${change} />
      <div class="form-buttons">
        <button type="submit" disabled=${busy || !operator.allowed} title=${operator.reason}>Show the plan (dry run)</button>
      </div>
    </form>
    <${Problem} error=${error} title="The offboarding was refused" fieldLabels=${offboardingFieldLabels(kind)} />
    ${plan ? html`<${PlanPreview} answer=${plan.answer} kind=${plan.kind} busy=${busy} onExecute=${execute} />` : null}
  `;
}

// --- One offboarding, followed live ---

function Decisions({ offboarding, onDecided }) {
  const [error, setError] = useState(undefined);
  const [busy, setBusy] = useState(false);
  const operator = useAccess('operator');
  const caller = useCaller();
  // Four eyes: the API refuses the approval of the token that asked for it; say so before the click.
  const ownRequest = offboarding.requestedBy === caller?.name;
  const approveRefusal = operator.reason ?? (ownRequest ? `You asked for this offboarding (token “${caller.name}”): another token with the operator role must approve it (four eyes).` : undefined);
  const decide = async (decision) => {
    if (decision === 'cancel' && !window.confirm(`Cancel offboarding ${offboarding.id}? It stops before its next step; steps done stay done.`)) return;
    setBusy(true);
    setError(undefined);
    try {
      await api('POST', `/offboardings/${offboarding.id}/${decision}`);
      onDecided();
    } catch (failure) {
      failure.decision = decision;
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  if (finished(offboarding)) return null;
  // Four eyes: the token that asked for it tried to approve it (403 from the API).
  const fourEyes = error?.decision === 'approve' && error.status === 403 && /four eyes/.test(error.message);
  return html`<div class="decisions">
    ${offboarding.status === 'awaiting-approval'
      ? html`<${Notice} tone="warn">
          <strong>This offboarding waits for approval.</strong>
          ${` ${pageWords(offboarding.approvalReason ?? 'its plan ends more accesses than the approval threshold').replace(/\.$/, '')}; nothing has changed yet. `}
          Read the steps below, then approve or cancel it.
          ${` Four eyes: token “${offboarding.requestedBy}” asked for it, so another token with the operator role must approve it; `}
          whoever approves signs in with their own token.
        <//>`
      : null}
    <div class="form-buttons">
      ${offboarding.status === 'awaiting-approval'
        ? html`<button type="button" disabled=${busy || approveRefusal !== undefined} title=${approveRefusal} onClick=${() => void decide('approve')}>Approve</button>`
        : null}
      <button type="button" class="secondary" disabled=${busy || !operator.allowed} title=${operator.reason} onClick=${() => void decide('cancel')}>Cancel the offboarding</button>
    </div>
    ${offboarding.status === 'awaiting-approval' && operator.allowed && ownRequest
      ? html`<p class="quiet own-request">${approveRefusal}</p>`
      : null}
    ${fourEyes
      ? html`<div class="notice notice-bad four-eyes" role="alert">
          <strong>You may not approve this offboarding: a second token is needed.</strong> ${pageWords(error.message)}
          <p>Ask a colleague with an operator token to approve it, each signed in with their own token (sign out, then sign in with theirs).</p>
        </div>`
      : html`<${Problem} error=${error} title="The decision was not taken" />`}
  </div>`;
}

export function OffboardingPage({ route, config }) {
  const id = route.segments[1];
  const resource = useResource(() => api('GET', `/offboardings/${encodeURIComponent(id)}`), [id], { pollMs: 1_000, keepPolling: stillMoving });
  const offboarding = resource.data;
  if (resource.error?.status === 404) return html`<${Empty}>There is no offboarding ${id}.<//>`;
  if (!offboarding) return html`<${Problem} error=${resource.error} title="Could not load the offboarding" /><${Loading} />`;
  const done = offboarding.steps.filter((step) => step.status === 'done').length;
  return html`
    <${PageHeader} title=${`Offboarding ${offboarding.id}`} intro=${offboardingKinds[offboarding.kind]?.label ?? offboarding.kind}>
      <${StatusBadge} status=${offboarding.status} words=${offboardingStatuses} />
    <//>
    <${Problem} error=${resource.error} title="Could not refresh" />
    <section class="card">
      <dl class="facts">
        <dt>Records</dt><dd>${requestText(offboarding.request)}</dd>
        ${offboarding.reason ? html`<dt>Reason</dt><dd>${offboarding.reason}</dd>` : null}
        <dt>Asked for</dt><dd><${When} at=${offboarding.createdAt} /> by ${offboarding.requestedBy}</dd>
        ${offboarding.approvalRequired ? html`<dt>Approval</dt><dd>${offboarding.approvedAt ? html`approved by ${offboarding.approvedBy}, <${When} at=${offboarding.approvedAt} />` : 'needed'}</dd>` : null}
        ${offboarding.cancelledBy ? html`<dt>Cancelled by</dt><dd>${offboarding.cancelledBy}</dd>` : null}
        <dt>Progress</dt><dd><span class="progress-text">${done} of ${counted(offboarding.steps.length, 'step')} done</span>
          <progress max=${offboarding.steps.length || 1} value=${done}></progress></dd>
        ${offboarding.finishedAt ? html`<dt>Finished</dt><dd><${When} at=${offboarding.finishedAt} /></dd>` : null}
        <dt>In Temporal</dt><dd><${ExternalLink} href=${temporalWorkflowUrl(config, offboarding.workflowId)} className="temporal-workflow">workflow ${offboarding.workflowId}<//></dd>
      </dl>
      ${offboarding.failure ? html`<${Notice} tone="bad"><strong>It failed:</strong> ${pageWords(offboarding.failure)}<//>` : null}
      ${offboarding.status === 'running' && !finished(offboarding)
        ? html`<p class="quiet live">Following it live: this page refreshes every second. A step waits until every portal has applied it; a portal that is down holds the step until it is back, and one that refuses the change holds it until a later sync gets the change through.</p>`
        : null}
      <${Decisions} offboarding=${offboarding} onDecided=${() => void resource.reload()} />
    </section>
    <${Section} title="Steps">
      <${Removes} removes=${offboarding.plan.removes} />
      ${offboarding.plan.steps.length === 0 ? html`<${Empty}>This plan had no steps.<//>` : html`<${Steps} steps=${offboarding.plan.steps} records=${offboarding.steps} contactIds=${offboarding.plan.contactIds} />`}
    <//>
  `;
}

