import type { Client as TemporalClient } from '@temporalio/client';
import type { Db } from '../src/db';
import type { SimulatorState as CaseWareState } from '../src/simulators/caseware/simulator';
import type { SimulatorState as ClientOnlineState } from '../src/simulators/client-online/simulator';
import { describe as describeDifference, portalDifferences, type PortalStates } from '../test/support/convergence';

// The chaos run's end checks, once everything is quiet. Each answers its figures (printed) and its
// violations (each one line, naming record ids and refs, never personal data).

export interface CheckResult {
  name: string;
  figures: Record<string, number | string>;
  violations: string[];
}

export async function portalStates(origins: { caseware: string; clientOnline: string }): Promise<PortalStates> {
  const [caseware, clientOnline] = await Promise.all([
    fetch(`${origins.caseware}/_sim/state`).then(async (r) => (await r.json()) as CaseWareState),
    fetch(`${origins.clientOnline}/_sim/state`).then(async (r) => (await r.json()) as ClientOnlineState),
  ]);
  return { caseware, clientOnline };
}

/** Registry desired state against both portals, record by record (test/support/convergence.ts). */
export async function checkConvergence(db: Db, states: PortalStates): Promise<CheckResult> {
  const differences = await portalDifferences(db, states);
  const [clients, contacts] = await Promise.all([db('clients').count({ n: '*' }), db('contacts').whereNull('deleted_at').count({ n: '*' })]);
  return {
    name: 'registry equals both portals, record by record',
    figures: {
      'registry clients': Number(clients[0]?.n ?? 0),
      'registry contacts (live)': Number(contacts[0]?.n ?? 0),
      'CaseWare entities': states.caseware.entities.length,
      'CaseWare contact users': states.caseware.users.filter((u) => u.OwnerType === 'Contact').length,
      'Client Online clients': states.clientOnline.clients.length,
      'Client Online logins': states.clientOnline.logins.length,
      differences: differences.length,
    },
    violations: differences.map(describeDifference),
  };
}

/** No second CaseWare contact or Client Online login, and one credentials mail per login created. */
export async function checkDuplicatesAndMails(db: Db, states: PortalStates): Promise<CheckResult> {
  const violations: string[] = [];
  const { caseware: cw, clientOnline: co } = states;
  const contactUsers = cw.users.filter((u) => u.OwnerType === 'Contact');
  const ledger = await db('portal_identities').where({ portal: 'caseware', record_type: 'contact' }).whereNotNull('remote_id').pluck<string[]>('remote_id');
  const owners = ledger.reduce<Map<string, number>>((all, id) => all.set(id, (all.get(id) ?? 0) + 1), new Map());
  for (const user of contactUsers) {
    const n = owners.get(user.CWGuid) ?? 0;
    if (n === 1) continue;
    // What the registry and the ledger know of its email, to tell a stray from a second user.
    const email = user.Email.toLowerCase();
    const contacts = await db('contacts').whereRaw('lower(email) = ?', [email]).pluck<number[]>('id');
    const claims = await db('portal_identities').where({ portal: 'caseware', record_type: 'contact' })
      .where((q) => void q.where({ login_key: email }).orWhere({ pending_login_key: email }))
      .select<{ record_id: number; remote_id: string | null; access: string }[]>('record_id', 'remote_id', 'access');
    violations.push(
      `CaseWare user ${user.CWGuid} (${user.Type === 'A' ? 'active' : 'inactive'}) is the login of ${n} contacts in the ledger ` +
        `(a second or a stray user); contacts with its email now: ${contacts.join(', ') || 'none'}; ` +
        `ledger claims of it: ${claims.map((c) => `contact ${c.record_id} (${c.access}, id ${c.remote_id ?? 'none'})`).join(', ') || 'none'}`,
    );
  }
  const emails = new Map<string, number>();
  for (const user of cw.users) emails.set(user.Email.toLowerCase(), (emails.get(user.Email.toLowerCase()) ?? 0) + 1);
  for (const [, n] of emails) if (n > 1) violations.push(`CaseWare holds ${n} users with one email`);
  if (cw.mails.length !== contactUsers.length) violations.push(`CaseWare sent ${cw.mails.length} credentials mails for ${contactUsers.length} contact users`);

  const refs = new Map<string, number>();
  const usernames = new Map<string, number>();
  for (const login of co.logins) {
    refs.set(login.ref, (refs.get(login.ref) ?? 0) + 1);
    usernames.set(login.email.toLowerCase(), (usernames.get(login.email.toLowerCase()) ?? 0) + 1);
  }
  for (const [ref, n] of refs) if (n > 1) violations.push(`Client Online holds ${n} logins for ref ${ref}`);
  for (const [, n] of usernames) if (n > 1) violations.push(`Client Online holds ${n} logins with one username`);
  // The workload never gives a client to a login that has none (chaos/workload.ts): every login is
  // created once, so every ref is mailed at most once, and every login that exists was mailed.
  const mailsPerRef = co.mails.reduce<Map<string, number>>((all, m) => all.set(m.ref, (all.get(m.ref) ?? 0) + 1), new Map());
  for (const [ref, n] of mailsPerRef) if (n > 1) violations.push(`Client Online mailed credentials ${n} times for login ${ref}`);
  for (const login of co.logins) if (!mailsPerRef.has(login.ref)) violations.push(`Client Online login ${login.ref} exists but was never mailed`);
  return {
    name: 'no duplicate contact or login; one credentials mail per login created',
    figures: {
      'CaseWare contact users': contactUsers.length,
      'CaseWare credentials mails': cw.mails.length,
      'Client Online logins created (distinct refs mailed)': mailsPerRef.size,
      'Client Online credentials mails': co.mails.length,
      'Client Online logins now': co.logins.length,
    },
    violations,
  };
}

/** The codes that are data conflicts: the registry holds what a portal forbids. */
const conflictCodes = new Set(['missing-email', 'shared-email', 'no-client-user', 'email-removed', 'client-online-username-taken']);

/**
 * No lost change: the outbox is delivered, no client is pending, and every open sync error is a
 * real data conflict with a message that names its record.
 */
export async function checkNothingLost(db: Db, api: (method: string, path: string) => Promise<{ status: number; body: unknown }>): Promise<CheckResult> {
  const violations: string[] = [];
  const undelivered = Number((await db('outbox_events').whereNull('delivered_at').count({ n: '*' }))[0]?.n ?? 0);
  if (undelivered > 0) violations.push(`${undelivered} outbox events not delivered`);
  const errors = await db('sync_errors').whereNull('resolved_at')
    .select<{ portal: string; client_number: string; record_type: string; record_id: number; code: string; message: string }[]>('portal', 'client_number', 'record_type', 'record_id', 'code', 'message');
  const byCode: Record<string, number> = {};
  for (const error of errors) {
    byCode[error.code] = (byCode[error.code] ?? 0) + 1;
    const where = `${error.portal} client ${error.client_number} ${error.record_type} ${error.record_id}`;
    if (!conflictCodes.has(error.code)) violations.push(`${where}: open sync error ${error.code} is no data conflict: ${error.message.slice(0, 200)}`);
    else if (!error.message.includes(String(error.record_id)) && !error.message.includes(error.client_number)) violations.push(`${where}: ${error.code} message names no record: ${error.message.slice(0, 200)}`);
    else if (!(await isRealConflict(db, error))) violations.push(`${where}: ${error.code} open, but the registry no longer has that conflict`);
  }
  let pending = 0;
  const numbers = await db('clients').orderBy('id').pluck<string[]>('client_number');
  for (const clientNumber of numbers) {
    const status = await api('GET', `/sync/clients/${clientNumber}`);
    if (status.status !== 200) {
      violations.push(`GET /sync/clients/${clientNumber} answered ${status.status}`);
      continue;
    }
    for (const portal of ['caseware', 'clientOnline'] as const) {
      const { state } = (status.body as Record<typeof portal, { state: string }>)[portal];
      if (state === 'pending') {
        pending += 1;
        violations.push(`${portal} client ${clientNumber}: still pending`);
      }
    }
  }
  return {
    name: 'no lost change (delivered, not pending, open errors are real conflicts)',
    figures: { 'undelivered outbox events': undelivered, 'clients pending': pending, 'open sync errors': errors.length, ...Object.fromEntries(Object.entries(byCode).map(([code, n]) => [`open ${code}`, n])) },
    violations,
  };
}

async function isRealConflict(db: Db, error: { record_type: string; record_id: number; code: string; client_number: string }): Promise<boolean> {
  if (error.code === 'missing-email' && error.record_type === 'contact') {
    const contact = await db('contacts').where({ id: error.record_id }).first<{ email: string | null; master_client_id: number | null; master_contact_id: number | null } | undefined>('email', 'master_client_id', 'master_contact_id');
    return !!contact && !contact.email;
  }
  if (error.code === 'no-client-user') {
    // A client whose every user is switched off or has no email: the rule's own flag.
    const users = await db('contacts').join('clients', 'clients.id', 'contacts.client_id')
      .where('clients.client_number', error.client_number).whereNull('contacts.deleted_at')
      .where('contacts.link_client_online', true).whereNotNull('contacts.email').count({ n: '*' });
    return Number(users[0]?.n ?? 0) === 0;
  }
  return true;
}

/** Domain rule: a login sees its own person client and companies, never another person's client. */
export function checkPrivacy(state: ClientOnlineState, personClients: ReadonlyMap<string, number>): CheckResult {
  const violations: string[] = [];
  for (const login of state.logins) {
    const own = [...personClients].find(([, id]) => login.ref === `p-${id}`)?.[0];
    const seen = login.clients.filter((n) => personClients.has(n) && n !== own);
    if (seen.length > 0) violations.push(`login ${login.ref} sees person clients ${seen.join(', ')}`);
  }
  return { name: 'Client Online privacy rule', figures: { 'logins checked': state.logins.length }, violations };
}

/** Every offboarding completed once, each step recorded (started, applied, completed). */
export async function checkOffboardings(db: Db, started: readonly { id: number; kind: string; steps: number }[]): Promise<CheckResult> {
  const violations: string[] = [];
  const rows = await db('offboardings').select<{ id: number; kind: string; status: string; failure: string | null; plan: { steps: unknown[] } }[]>('id', 'kind', 'status', 'failure', 'plan');
  const byKind: Record<string, number> = {};
  for (const mine of started) {
    const row = rows.find((r) => r.id === mine.id);
    if (!row) {
      violations.push(`offboarding ${mine.id} (${mine.kind}) has no record`);
      continue;
    }
    byKind[row.kind] = (byKind[row.kind] ?? 0) + 1;
    if (row.status !== 'completed') violations.push(`offboarding ${row.id} (${row.kind}) is ${row.status}${row.failure ? `: ${row.failure.slice(0, 200)}` : ''}`);
    const steps = await db('offboarding_steps').where({ offboarding_id: row.id }).orderBy('step')
      .select<{ step: number; status: string; started_at: Date | null; applied_at: Date | null; completed_at: Date | null; changed: unknown }[]>('step', 'status', 'started_at', 'applied_at', 'completed_at', 'changed');
    if (steps.length !== mine.steps) violations.push(`offboarding ${row.id}: ${steps.length} steps recorded for ${mine.steps} planned`);
    for (const step of steps) {
      if (step.status !== 'done' || !step.started_at || !step.applied_at || !step.completed_at || step.changed === null) {
        violations.push(`offboarding ${row.id} step ${step.step}: ${step.status}, started ${!!step.started_at}, applied ${!!step.applied_at}, completed ${!!step.completed_at}`);
      }
    }
  }
  const unknown = rows.filter((r) => !started.some((s) => s.id === r.id));
  for (const row of unknown) if (row.status !== 'completed') violations.push(`offboarding ${row.id} (${row.kind}, started by an answer that was lost) is ${row.status}`);
  return {
    name: 'every offboarding completed once, its steps recorded',
    figures: { offboardings: rows.length, ...Object.fromEntries(Object.entries(byKind).map(([k, n]) => [k, n])) },
    violations,
  };
}

/**
 * No workflow failed, timed out or was terminated; none stuck with an activity. A sync's first
 * attempt, a local activity, cannot be stuck: it is bounded, and then goes on as a regular one.
 */
export async function checkWorkflows(client: TemporalClient, taskQueue: string): Promise<CheckResult> {
  const violations: string[] = [];
  let closedBadly = 0;
  for await (const execution of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus != 'Running' AND ExecutionStatus != 'Completed' AND ExecutionStatus != 'ContinuedAsNew'` })) {
    closedBadly += 1;
    violations.push(`workflow ${execution.workflowId} ${execution.status.name}`);
  }
  let running = 0;
  let withActivities = 0;
  for await (const execution of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) {
    running += 1;
    const description = await client.workflow.getHandle(execution.workflowId, execution.runId).describe();
    const pending = description.raw.pendingActivities ?? [];
    if (pending.length > 0) {
      withActivities += 1;
      violations.push(`workflow ${execution.workflowId} still runs ${pending.map((a) => `${a.activityType?.name} (attempt ${a.attempt})`).join(', ')}`);
    }
  }
  return { name: 'no workflow failed or stuck', figures: { 'workflows open (idle)': running, 'with an activity': withActivities, 'failed/terminated/timed out': closedBadly }, violations };
}
