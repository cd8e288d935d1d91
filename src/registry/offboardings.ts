import type { Knex } from 'knex';
import type { Db } from '../db';
import type { RowOf } from '../db-rows';
import {
  accessesEnded,
  offboardingPlan,
  OffboardingRequestError,
  type OffboardingPlan,
  type OffboardingRequest,
  type OffboardingStep,
  type RegistrySlice,
} from '../domain/offboarding';
import { offboardingWorkflowId } from '../../workflows/offboarding-definitions';
import type { Client, Contact } from './schemas';
import { offboardingsHoldingAny, unfinishedOffboardingHolding, unfinishedStatuses, type GuardedRecord } from './offboarding-guard';
import { getClient } from './clients';
import { getContact, listContacts } from './contacts';
import { RegistryError } from './errors';
import { listFollowers } from './masters';
import { writeTransaction } from './write-transaction';

// Offboardings in the registry: the part of the registry a plan needs, the stored request with
// its plan and a record of every step, and the guard that keeps others from undoing a step.

export type { OffboardingStatus } from './offboarding-guard';
import type { OffboardingStatus } from './offboarding-guard';
export type OffboardingStepStatus = 'pending' | 'applying' | 'waiting-for-portals' | 'done' | 'not-run';

/** Offboardings that still hold their records. */
const unfinished: readonly OffboardingStatus[] = unfinishedStatuses;

/** How far a step got. */
export interface OffboardingStepProgress {
  status: OffboardingStepStatus;
  changed: Record<string, unknown> | null;
  /** What a portal refused of the step's change, while the step waits for a later sync to get it through. */
  refusal: string | null;
  startedAt: Date | null;
  appliedAt: Date | null;
  completedAt: Date | null;
}

/**
 * A step of a stored offboarding: the step as its plan has it (the same fields, `contactId` for a
 * contact's step) and its progress. `recordType` and `recordId` are how earlier releases named the
 * record; they keep answering for one release.
 */
export type OffboardingStepRecord = OffboardingStep &
  OffboardingStepProgress & {
    /** @deprecated the step's `action` with `contactId` or `clientNumber` say the same; kept for one release. */
    recordType: 'client' | 'contact';
    /** @deprecated see recordType. */
    recordId: number;
  };

export interface OffboardingRecord {
  id: number;
  kind: OffboardingRequest['kind'];
  request: OffboardingRequest;
  reason: string | null;
  requestedBy: string;
  status: OffboardingStatus;
  workflowId: string;
  approvalRequired: boolean;
  /** Why it waits for approval, in words; null when it did not need approval. */
  approvalReason: string | null;
  approvedBy: string | null;
  approvedAt: Date | null;
  cancelledBy: string | null;
  failure: string | null;
  plan: OffboardingPlan;
  steps: OffboardingStepRecord[];
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}


// --- The part of the registry a plan needs ---

/**
 * The clients the request names and, for every person involved, every registration that shares
 * his Client Online login: his person client (or master contact) and the companies where his
 * followers are, each with all its current contacts, so the plan can tell which login survives.
 */
export async function loadOffboardingSlice(db: Db, request: OffboardingRequest): Promise<RegistrySlice> {
  const clients = new Map<number, Client>();
  const contacts = new Map<number, Contact>();
  const pending: string[] = [];

  const seed = async () => {
    if (request.kind === 'revoke-contact-access') {
      const contact = await getContact(db, request.contactId).catch(notFoundAs(null));
      if (contact) pending.push(contact.clientNumber);
      return;
    }
    pending.push(request.clientNumber);
    if (request.kind === 'person-leaves') pending.push(...(request.companies ?? []));
  };
  await seed();

  const addClient = async (clientNumber: string) => {
    const client = await getClient(db, clientNumber).catch(notFoundAs(null));
    if (!client || clients.has(client.id)) return;
    clients.set(client.id, client);
    for (const contact of await listContacts(db, clientNumber)) {
      contacts.set(contact.id, contact);
      if (contact.masterClientId !== null) pending.push(await clientNumberOf(db, contact.masterClientId));
      if (contact.masterContactId !== null) {
        const master = await getContact(db, contact.masterContactId).catch(notFoundAs(null));
        if (master) pending.push(master.clientNumber);
        for (const follower of await listFollowers(db, { type: 'contact', id: contact.masterContactId })) pending.push(follower.clientNumber);
      }
    }
    if (client.kind === 'person') {
      for (const follower of await listFollowers(db, { type: 'client', id: client.id })) pending.push(follower.clientNumber);
    }
  };
  // Bounded: each client is added once.
  for (let next = pending.shift(); next !== undefined; next = pending.shift()) await addClient(next);
  return { clients: [...clients.values()], contacts: [...contacts.values()] };
}

function notFoundAs<T>(value: T) {
  return (error: unknown): T => {
    if (error instanceof RegistryError && error.code === 'not-found') return value;
    throw error;
  };
}

async function clientNumberOf(db: Db, clientId: number): Promise<string> {
  const row = await db('clients').where({ id: clientId }).first<{ client_number: string } | undefined>('client_number');
  if (!row) throw new Error(`client id ${clientId} is referenced but missing`);
  return row.client_number;
}

/** The plan for `request` against the registry as it is now; RegistryError when it does not fit. */
export async function planOffboarding(db: Db, request: OffboardingRequest): Promise<OffboardingPlan> {
  const slice = await loadOffboardingSlice(db, request);
  try {
    return offboardingPlan(slice, request);
  } catch (error) {
    if (error instanceof OffboardingRequestError) throw new RegistryError(error.code, error.message);
    throw error;
  }
}

// --- The guard (offboarding-guard.ts checks it) ---

/**
 * Records a plan holds: the contacts of its contact steps and the clients of its client steps, and
 * for a person leaving or deceased his person client even when no step changes it (already a former
 * client): no new follower may take over his login meanwhile.
 */
export function recordsOf(plan: OffboardingPlan): GuardedRecord[] {
  const records: GuardedRecord[] = plan.steps.map((step) =>
    step.action === 'client-former' ? { type: 'client', key: step.clientNumber } : { type: 'contact', key: step.contactId },
  );
  const { request } = plan;
  if (request.kind === 'person-leaves' || request.kind === 'person-deceased') records.push({ type: 'client', key: request.clientNumber });
  return records;
}

/** An unfinished offboarding that holds a record a request is about. */
export interface OffboardingUnderWay {
  id: number;
  /** One of the unfinished statuses. */
  status: 'awaiting-approval' | 'running';
}

/**
 * The unfinished offboardings (waiting for approval or running) that hold the record the request
 * names or any record its plan would hold, oldest first: carrying the plan out would be refused
 * (409) until they finish. A read for dry runs; storing an offboarding checks the guard under its locks.
 */
export async function offboardingsUnderWay(db: Db, plan: OffboardingPlan): Promise<OffboardingUnderWay[]> {
  const { request } = plan;
  const named: GuardedRecord = request.kind === 'revoke-contact-access' ? { type: 'contact', key: request.contactId } : { type: 'client', key: request.clientNumber };
  return offboardingsHoldingAny(db, [named, ...recordsOf(plan)]);
}

/** The clients whose rows are locked while an offboarding is stored: its steps' clients and the clients it holds. */
function clientsToLock(plan: OffboardingPlan): string[] {
  const held = recordsOf(plan).flatMap((record) => (record.type === 'client' ? [String(record.key)] : []));
  return [...new Set([...plan.clientNumbers, ...held])];
}

/**
 * Marks an offboarding failed because its workflow could not be started, unless a step of it has
 * started meanwhile: then its workflow runs after all (the answer to starting it was lost) and
 * false is answered. Under the offboarding's row lock, which applying a step takes too.
 */
export async function failUnstartedOffboarding(db: Db, id: number, failure: string): Promise<boolean> {
  return db.transaction(async (trx) => {
    await trx('offboardings').where({ id }).forUpdate().select('id');
    const started = await trx('offboarding_steps').where({ offboarding_id: id }).whereNotNull('started_at').first<{ step: number } | undefined>('step');
    if (started) return false;
    await setOffboardingStatus(trx, id, 'failed', { failure });
    return true;
  });
}

// --- Stored offboardings ---

export interface NewOffboarding {
  request: OffboardingRequest;
  reason?: string;
  requestedBy: string;
  /** Plans that end more accesses than this (both portals together) wait for approval. */
  approvalThreshold: number;
  /**
   * The rolling budget: the accesses ended by the same token's offboardings that needed no approval
   * in this many milliseconds before count towards the threshold too, so that a plan split into
   * small requests still meets four eyes. 0 or absent: each plan is measured on its own.
   */
  approvalWindowMs?: number;
}

/** An offboarding of the rolling budget: asked for by the same token, without approval, lately. */
interface BudgetEntry {
  id: number;
  ended: number;
}

/** What the approval threshold weighs for a plan (the dry run answers it as approvalBudget). */
export interface ApprovalBudget {
  threshold: number;
  /** This plan's accesses ended, both portals together. */
  accessesEnded: number;
  /** The rolling budget's window in hours; 0: each plan is measured on its own. */
  windowHours: number;
  /** The accesses ended by the same token's offboardings that needed no approval within the window. */
  earlierAccessesEnded: number;
  /** Those offboardings, by id. */
  earlierOffboardings: number[];
}

/** Whether a plan, carried out by a token now, waits for approval, why, and what was weighed. */
export interface ApprovalOutlook {
  approvalRequired: boolean;
  /** As the stored offboarding's approvalReason: null when it needs no approval. */
  approvalReason: string | null;
  approvalBudget: ApprovalBudget;
}

/** The token's offboardings that needed no approval within the window; ones that finished (failed, cancelled) without changing anything do not count. */
async function earlierWithoutApproval(db: Db, requestedBy: string, windowMs: number): Promise<BudgetEntry[]> {
  if (windowMs <= 0) return [];
  const { rows } = await db.raw<{ rows: BudgetEntry[] }>(
    `select o.id,
            coalesce((o.plan->'removes'->'accessEnded'->>'caseware')::int + (o.plan->'removes'->'accessEnded'->>'clientOnline')::int,
                     (o.plan->'removes'->>'contactAccess')::int + (o.plan->'removes'->>'logins')::int, 0) as ended
       from offboardings o
      where o.requested_by = :requestedBy
        and not o.approval_required
        and o.created_at > now() - (:windowMs * interval '1 millisecond')
        and not (o.status in ('failed', 'cancelled')
                 and not exists (select 1 from offboarding_steps s where s.offboarding_id = o.id and s.applied_at is not null))
      order by o.id`,
    { requestedBy, windowMs },
  );
  return rows.map((entry) => ({ id: Number(entry.id), ended: Number(entry.ended) }));
}

/**
 * Why this plan must wait for approval, or undefined when it need not: its own accesses ended pass
 * the threshold, or they do together with those of the token's offboardings that needed no approval
 * within the window.
 */
function approvalReasonOf(plan: OffboardingPlan, budget: ApprovalBudget, requestedBy: string, windowMs: number): string | undefined {
  const { accessesEnded: ended, threshold, earlierAccessesEnded: before, earlierOffboardings: ids } = budget;
  const ownAccessesEnded = `it ends ${ended} ${ended === 1 ? 'access' : 'accesses'} (CaseWare Cloud ${plan.removes.accessEnded.caseware}, Client Online ${plan.removes.accessEnded.clientOnline})`;
  if (ended > threshold) return `${ownAccessesEnded}, more than the approval threshold (${threshold})`;
  if (windowMs <= 0 || ended === 0 || ended + before <= threshold) return undefined;
  const named = ids.length > 10 ? `${ids.slice(0, 10).join(', ')} and ${ids.length - 10} more` : ids.join(', ');
  return (
    `${ownAccessesEnded}; with the ${before} ended by offboarding${ids.length === 1 ? '' : 's'} ${named}, which token "${requestedBy}" asked for ` +
    `without approval in the last ${windowText(windowMs)}, that is ${ended + before}, more than the approval threshold (${threshold})`
  );
}

/** Who asks, and the threshold and window that apply. */
export type ApprovalSettings = Pick<NewOffboarding, 'requestedBy' | 'approvalThreshold' | 'approvalWindowMs'>;

/**
 * Whether `plan`, carried out by `settings.requestedBy` now, waits for approval, and why. A dry run
 * asks it as it stands; storing an offboarding asks it in its transaction after
 * `lockApprovalBudget`, so that two requests at once cannot both stay under the budget.
 */
export async function offboardingApproval(db: Db, settings: ApprovalSettings, plan: OffboardingPlan): Promise<ApprovalOutlook> {
  const windowMs = settings.approvalWindowMs ?? 0;
  const earlier = await earlierWithoutApproval(db, settings.requestedBy, windowMs);
  const approvalBudget: ApprovalBudget = {
    threshold: settings.approvalThreshold,
    accessesEnded: accessesEnded(plan.removes),
    windowHours: windowMs / 3_600_000,
    earlierAccessesEnded: earlier.reduce((sum, entry) => sum + entry.ended, 0),
    earlierOffboardings: earlier.map((entry) => entry.id),
  };
  const reason = approvalReasonOf(plan, approvalBudget, settings.requestedBy, windowMs);
  return { approvalRequired: reason !== undefined, approvalReason: reason ?? null, approvalBudget };
}

/** Serializes the approval decisions of one token's offboardings until the transaction ends. */
async function lockApprovalBudget(trx: Knex.Transaction, requestedBy: string): Promise<void> {
  await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`offboarding-approval-budget:${requestedBy}`]);
}

function windowText(ms: number): string {
  const hours = ms / 3_600_000;
  if (Number.isInteger(hours)) return hours === 1 ? 'hour' : `${hours} hours`;
  const minutes = Math.max(1, Math.round(ms / 60_000));
  return minutes === 1 ? 'minute' : `${minutes} minutes`;
}

/**
 * Stores a request with its plan and holds its records, in one transaction that locks the clients
 * involved, so no registry write slips in between planning and holding. Refused (409) when another
 * unfinished offboarding holds any of its records.
 */
export async function createOffboarding(db: Db, input: NewOffboarding): Promise<OffboardingRecord> {
  const { request } = input;
  const subject = request.kind === 'revoke-contact-access' ? `contact ${request.contactId}` : `client ${request.clientNumber}`;
  // The second locking may add clients after those of the first, out of order: a deadlock that
  // may cause is run again.
  const id = await writeTransaction(db, `the records of an offboarding of ${subject}`, async (trx) => {
    const first = await planOffboarding(trx, input.request);
    await lockClients(trx, clientsToLock(first));
    // Planned again under the locks: what was read before them may have changed.
    const plan = await planOffboarding(trx, input.request);
    await lockClients(trx, clientsToLock(plan));
    const records = recordsOf(plan);
    const holder = await unfinishedOffboardingHolding(trx, records);
    if (holder) throw new RegistryError('conflict', holder);
    if ((input.approvalWindowMs ?? 0) > 0) await lockApprovalBudget(trx, input.requestedBy);
    const { approvalRequired, approvalReason } = await offboardingApproval(trx, input, plan);
    const [row] = await trx('offboardings')
      .insert({
        kind: input.request.kind,
        request: JSON.stringify(input.request),
        reason: input.reason ?? null,
        requested_by: input.requestedBy,
        status: approvalRequired ? 'awaiting-approval' : 'running',
        plan: JSON.stringify(plan),
        approval_required: approvalRequired,
        approval_reason: approvalReason,
      })
      .returning<{ id: number }[]>('id');
    const offboardingId = row?.id;
    if (offboardingId === undefined) throw new Error('inserting an offboarding returned no id');
    await trx('offboardings').where({ id: offboardingId }).update({ workflow_id: offboardingWorkflowId(offboardingId) });
    if (plan.steps.length > 0) {
      const clientIds = new Map(
        (await trx('clients').whereIn('client_number', plan.clientNumbers).select<{ id: number; client_number: string }[]>('id', 'client_number')).map(
          (c) => [c.client_number, c.id],
        ),
      );
      await trx('offboarding_steps').insert(
        plan.steps.map((step) => ({
          offboarding_id: offboardingId,
          step: step.step,
          action: step.action,
          record_type: step.action === 'client-former' ? 'client' : 'contact',
          record_id: step.action === 'client-former' ? clientIds.get(step.clientNumber) : step.contactId,
          client_number: step.clientNumber,
          summary: step.summary,
          effects: JSON.stringify(step.effects),
        })),
      );
    }
    const unique = new Map(records.map((r) => [`${r.type}:${r.key}`, r]));
    await trx('offboarding_records').insert(
      [...unique.values()].map((r) => ({ offboarding_id: offboardingId, record_type: r.type, record_key: String(r.key) })),
    );
    return offboardingId;
  });
  return getOffboarding(db, id);
}

async function lockClients(trx: Knex.Transaction, clientNumbers: readonly string[]): Promise<void> {
  if (clientNumbers.length === 0) return;
  await trx('clients').whereIn('client_number', [...clientNumbers].sort()).orderBy('client_number').forUpdate().select('id');
}

// The mappers below do more than rename (the plan fills in older plans, each step joins its planned
// step), so they stay written out; their rows are the records' fields in snake_case.

/** A row of offboardings: the record but its steps. */
type OffboardingRow = RowOf<Omit<OffboardingRecord, 'steps'>>;

/** A row of offboarding_steps as far as it is read: the step's progress; its planned step says the rest. */
type StepRow = RowOf<OffboardingStepProgress & Pick<OffboardingStepRecord, 'recordType' | 'recordId'> & { offboardingId: number; step: number }>;

function toStep(row: StepRow, planned: OffboardingStep | undefined): OffboardingStepRecord {
  // Steps are stored from the plan in the transaction that stores the plan: each has its planned step.
  if (!planned) throw new Error(`offboarding ${row.offboarding_id} has no planned step ${row.step}`);
  return {
    ...planned,
    status: row.status,
    changed: row.changed,
    refusal: row.refusal,
    startedAt: row.started_at,
    appliedAt: row.applied_at,
    completedAt: row.completed_at,
    recordType: row.record_type,
    recordId: row.record_id,
  };
}

/** A plan stored before plans counted the accesses they end per portal: counted as they were then. */
function withAccessEnded(plan: OffboardingPlan): OffboardingPlan {
  const fill = <T extends { removes: OffboardingPlan['removes'] }>(part: T): T =>
    part.removes.accessEnded ? part : { ...part, removes: { ...part.removes, accessEnded: { caseware: part.removes.contactAccess, clientOnline: part.removes.logins } } };
  return fill({ ...plan, steps: plan.steps.map(fill) });
}

function toOffboarding(row: OffboardingRow, steps: StepRow[]): OffboardingRecord {
  const plan = withAccessEnded(row.plan);
  const planned = new Map(plan.steps.map((step) => [step.step, step]));
  return {
    id: row.id,
    kind: row.kind,
    request: row.request,
    reason: row.reason,
    requestedBy: row.requested_by,
    status: row.status,
    workflowId: row.workflow_id,
    approvalRequired: row.approval_required,
    approvalReason: row.approval_reason,
    approvedBy: row.approved_by,
    approvedAt: row.approved_at,
    cancelledBy: row.cancelled_by,
    failure: row.failure,
    plan,
    steps: steps.map((step) => toStep(step, planned.get(step.step))),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  };
}

export async function getOffboarding(db: Db, id: number): Promise<OffboardingRecord> {
  const row = (await db('offboardings').where({ id }).first()) as OffboardingRow | undefined;
  if (!row) throw new RegistryError('not-found', `offboarding ${id} does not exist`);
  const steps = (await db('offboarding_steps').where({ offboarding_id: id }).orderBy('step')) as StepRow[];
  return toOffboarding(row, steps);
}

/** Offboardings, newest first, without their step records (GET /offboardings/:id has those). */
export async function listOffboardings(db: Db, filter: { status?: OffboardingStatus } = {}): Promise<Omit<OffboardingRecord, 'steps'>[]> {
  const rows = (await db('offboardings')
    .where(filter.status ? { status: filter.status } : {})
    .orderBy('id', 'desc')
    .limit(500)) as OffboardingRow[];
  return rows.map((row) => {
    const { steps: _steps, ...rest } = toOffboarding(row, []);
    return rest;
  });
}

/** Sets the status; a finished offboarding releases its records and notes when it finished. */
export async function setOffboardingStatus(
  db: Db,
  id: number,
  status: OffboardingStatus,
  details: { approvedBy?: string; cancelledBy?: string; failure?: string } = {},
): Promise<void> {
  await db.transaction(async (trx) => {
    const finished = !unfinished.includes(status);
    // A finished offboarding stays as it finished: an unfinished status written at the same time (a
    // cancel's own record, scheduled beside the workflow's final one) keeps only its details, and a
    // workflow that ran after the API had marked it failed does not make it completed.
    const current = await trx('offboardings').where({ id }).forUpdate().first<{ finished_at: Date | null } | undefined>('finished_at');
    if (current?.finished_at) {
      if (details.cancelledBy) await trx('offboardings').where({ id }).update({ cancelled_by: details.cancelledBy });
      return;
    }
    await trx('offboardings')
      .where({ id })
      .update({
        status,
        updated_at: trx.fn.now(),
        ...(finished ? { finished_at: trx.fn.now() } : {}),
        ...(details.approvedBy ? { approved_by: details.approvedBy, approved_at: trx.fn.now() } : {}),
        ...(details.cancelledBy ? { cancelled_by: details.cancelledBy } : {}),
        ...(details.failure ? { failure: details.failure } : {}),
      });
    if (finished) {
      await trx('offboarding_steps').where({ offboarding_id: id, status: 'pending' }).update({ status: 'not-run' });
      await trx('offboarding_records').where({ offboarding_id: id }).delete();
    }
  });
}
