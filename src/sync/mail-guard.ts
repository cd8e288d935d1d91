import type { Knex } from 'knex';
import type { Db } from '../db';
import type { Portal } from './ledger';

/**
 * The credentials-mail guard (issue 17, item 4). A portal mails login credentials whenever it is
 * asked to create a login: CaseWare Cloud for every contact user created, Client Online for every
 * push with a `ref` it does not know. A CRM import that switched every link on, or a bug, would mail
 * the firm's clients by the hundred. So every such creation asks the guard first: while the portal
 * has let no more than the threshold through in the last ten minutes it is let through (and noted as
 * sent); beyond that it is noted as held, and its sync creates nothing for it. The held creations
 * are listed (ids and counts: GET /sync/health); two different operator tokens approve them (four
 * eyes), which lets each through once and appends an outbox event for its client, whose sync then
 * creates it. Creations an operator approved do not count towards the threshold.
 *
 * One row per portal and record (`credentials_mails`), decided under a per-portal advisory lock, so
 * that a retry of the same creation is let through again without counting twice and concurrent
 * syncs cannot all slip under the threshold together. Ids only: no email, no name.
 */

export interface CredentialsMailCreation {
  clientNumber: string;
  /** Whose login it is: a contact (CaseWare contact user, Client Online login of a contact) or a person client. */
  recordType: 'client' | 'contact';
  recordId: number;
}

export interface MailGuardSettings {
  /** More creations than this per portal in the window are held for approval; 0 switches the guard off. */
  threshold: number;
  /** The window; ten minutes unless a test says otherwise. */
  windowMs?: number;
}

/** CREDENTIALS_MAIL_THRESHOLD's default (src/config.ts). */
export const defaultMailGuard: MailGuardSettings = { threshold: 20 };
const defaultWindowMs = 10 * 60_000;

export type MailGuardDecision = { allowed: true } | { allowed: false };

/**
 * Why a creation is held: `threshold`, more new logins than the guard lets through in the window;
 * `recreation`, a repair would make again a login the portal no longer holds (deleted there by
 * hand), and mail its person new credentials.
 */
export type HoldReason = 'threshold' | 'recreation';

/** Serialises the guard's decisions per portal (advisory lock namespace; the ledger's logins use 7301). */
const guardLockSpace = 7_302;

type MailStatus = 'sent' | 'held' | 'approved';

async function lockPortal(trx: Db, portal: Portal): Promise<void> {
  await trx.raw('select pg_advisory_xact_lock(?, hashtext(?))', [guardLockSpace, portal]);
}

const windowStart = (db: Db, windowMs: number) => db.raw(`now() - make_interval(secs => ?)`, [windowMs / 1000]);

type MailKey = { portal: Portal; record_type: CredentialsMailCreation['recordType']; record_id: number };

/** Notes a decision; `approved`: let through by an approval, which it keeps (and does not count). */
async function noteDecision(
  trx: Db,
  key: MailKey,
  creation: CredentialsMailCreation,
  decision: { status: 'sent' } | { status: 'held'; reason: HoldReason },
  { approved = false } = {},
): Promise<void> {
  const columns: Record<string, unknown> = { client_number: creation.clientNumber, status: decision.status, decided_at: trx.fn.now() };
  if (decision.status === 'held') Object.assign(columns, { held_at: trx.fn.now(), reason: decision.reason });
  if (!approved) Object.assign(columns, { approved_at: null, first_approver: null, second_approver: null });
  await trx('credentials_mails').insert({ ...key, ...columns }).onConflict(['portal', 'record_type', 'record_id']).merge(columns);
}

/** The guard switched off (threshold 0): nothing is counted; a creation held before it was switched off goes, once. */
async function letThroughUnguarded(db: Db, key: MailKey): Promise<MailGuardDecision> {
  await db('credentials_mails').where(key).whereNot({ status: 'sent' }).update({ status: 'sent', decided_at: db.fn.now() });
  return { allowed: true };
}

/**
 * What both guards share, under the portal's lock: an approved creation is let through once (and
 * keeps its approval), a held one stays held, and one let through already that `covered` says is
 * this same creation (a retry) is let through again without being counted. Anything else is for
 * `decideNew`. With the guard off (threshold 0) nothing is counted.
 */
async function decide(
  db: Db,
  portal: Portal,
  creation: CredentialsMailCreation,
  settings: MailGuardSettings,
  covered: (trx: Db) => Knex.Raw,
  decideNew: (trx: Db, note: (decision: { status: 'sent' } | { status: 'held'; reason: HoldReason }) => Promise<void>) => Promise<MailGuardDecision>,
): Promise<MailGuardDecision> {
  const key: MailKey = { portal, record_type: creation.recordType, record_id: creation.recordId };
  // Off: one statement, no lock.
  if (settings.threshold <= 0) return letThroughUnguarded(db, key);
  return db.transaction(async (trx) => {
    await lockPortal(trx, portal);
    const row = await trx('credentials_mails').where(key).first<{ status: MailStatus; covered: boolean } | undefined>('status', covered(trx));
    if (row?.status === 'approved') {
      await noteDecision(trx, key, creation, { status: 'sent' }, { approved: true });
      return { allowed: true };
    }
    if (row?.status === 'held') return { allowed: false };
    if (row?.status === 'sent' && row.covered) return { allowed: true };
    return decideNew(trx, (decision) => noteDecision(trx, key, creation, decision));
  });
}

/**
 * Asks before a creation that makes the portal mail credentials: `allowed` (create it now) or not
 * (create nothing; it is held for approval and listed). Ask right before the call that creates, and
 * again on every retry: a creation let through before is let through again (not counted twice), a
 * held one stays held until it is approved, an approved one is let through once.
 */
export async function guardCredentialsMail(
  db: Db,
  portal: Portal,
  creation: CredentialsMailCreation,
  settings: MailGuardSettings = defaultMailGuard,
): Promise<MailGuardDecision> {
  const windowMs = settings.windowMs ?? defaultWindowMs;
  // The same creation again (a retry) within the window: it was counted when it was let through.
  const recent = (trx: Db) => trx.raw('decided_at > now() - make_interval(secs => ?) as covered', [windowMs / 1000]);
  return decide(db, portal, creation, settings, recent, async (trx, note) => {
    const [counted] = await trx('credentials_mails')
      .where({ portal, status: 'sent' })
      .whereNull('approved_at')
      .where('decided_at', '>', windowStart(trx, windowMs))
      .count<{ count: string | number }[]>({ count: '*' });
    if (Number(counted?.count ?? 0) >= settings.threshold) {
      await note({ status: 'held', reason: 'threshold' });
      return { allowed: false };
    }
    await note({ status: 'sent' });
    return { allowed: true };
  });
}

/**
 * Asks before a push makes again a login the portal no longer holds (Client Online: a login
 * portal-sync made or adopted, deleted with its last client or user by hand, that a reconcile
 * repair would push again), which mails its person new credentials out of the blue. Such a
 * creation is held for approval whatever the count (only a guard switched off lets it through):
 * held once, it stays held until two operators approve it, and is let through once then. `since`
 * is when the repair asking for it was found: a creation let through after that is this repair's
 * own, retried, and is let through again; one let through before is the login's first creation,
 * and does not cover its making again.
 */
export async function guardLoginRecreation(
  db: Db,
  portal: Portal,
  creation: CredentialsMailCreation,
  { since, settings = defaultMailGuard }: { since: Date; settings?: MailGuardSettings },
): Promise<MailGuardDecision> {
  const ours = (trx: Db) => trx.raw('decided_at >= ? as covered', [since]);
  return decide(db, portal, creation, settings, ours, async (_trx, note) => {
    await note({ status: 'held', reason: 'recreation' });
    return { allowed: false };
  });
}

/**
 * Of these records, those whose login's making again is held or approved and not yet let through
 * (by `type:id`): every push that carries such a login asks the guard again, so that a held one
 * stays out of every push, and an approved one is let through once.
 */
export async function recreationsAwaiting(
  db: Db,
  portal: Portal,
  records: readonly { recordType: CredentialsMailCreation['recordType']; recordId: number }[],
): Promise<Set<string>> {
  if (records.length === 0) return new Set();
  const rows = await db('credentials_mails')
    .where({ portal, reason: 'recreation' })
    .whereIn('status', ['held', 'approved'])
    .whereIn(['record_type', 'record_id'], records.map((r) => [r.recordType, r.recordId]))
    .select<{ record_type: string; record_id: number | string }[]>('record_type', 'record_id');
  return new Set(rows.map((row) => `${row.record_type}:${Number(row.record_id)}`));
}

/**
 * The portal refused a creation the guard had let through (a duplicate email: the login exists and
 * is adopted instead): nobody was mailed, so it does not count.
 */
export async function withdrawCredentialsMail(db: Db, portal: Portal, creation: CredentialsMailCreation): Promise<void> {
  await db('credentials_mails').where({ portal, record_type: creation.recordType, record_id: creation.recordId, status: 'sent' }).delete();
}

export interface HeldCreation {
  id: number;
  clientNumber: string;
  recordType: 'client' | 'contact';
  recordId: number;
  heldAt: Date;
  reason: HoldReason;
}

export interface PendingMailApproval {
  /** The token that approved first (by name). */
  approvedBy: string;
  approvedAt: Date;
  /** How many of the held creations it covers: those held when it was given. */
  covers: number;
}

export interface CredentialsMailStatus {
  /** 0: the guard is off. */
  threshold: number;
  windowMinutes: number;
  /** Creations let through in the window without an approval: the guard holds the next when this reaches the threshold. */
  sentInWindow: number;
  /** Creations held for approval. */
  held: number;
  /** The held creations, oldest first (at most 100: `held` counts them all). */
  heldCreations: HeldCreation[];
  /** Clients with a held creation. */
  heldClients: number;
  /** The first of the two approvals, waiting for a second token; null when none. */
  approval: PendingMailApproval | null;
}

const listedHeld = 100;

/** What the guard holds at a portal, with ids and counts. */
export async function credentialsMailStatus(db: Db, portal: Portal, settings: MailGuardSettings = defaultMailGuard): Promise<CredentialsMailStatus> {
  const windowMs = settings.windowMs ?? defaultWindowMs;
  const [sent] = await db('credentials_mails')
    .where({ portal, status: 'sent' })
    .whereNull('approved_at')
    .where('decided_at', '>', windowStart(db, windowMs))
    .count<{ count: string | number }[]>({ count: '*' });
  const [held] = await db('credentials_mails')
    .where({ portal, status: 'held' })
    .select<{ count: string | number; clients: string | number }[]>(db.raw('count(*) as count'), db.raw('count(distinct client_number) as clients'));
  const rows = await db('credentials_mails')
    .where({ portal, status: 'held' })
    .orderBy('id')
    .limit(listedHeld)
    .select<{ id: number; client_number: string; record_type: 'client' | 'contact'; record_id: number; held_at: Date; reason: HoldReason | null }[]>(
      'id',
      'client_number',
      'record_type',
      'record_id',
      'held_at',
      'reason',
    );
  const approval = await pendingApproval(db, portal);
  return {
    threshold: settings.threshold,
    windowMinutes: windowMs / 60_000,
    sentInWindow: Number(sent?.count ?? 0),
    held: Number(held?.count ?? 0),
    heldCreations: rows.map((row) => ({
      id: Number(row.id),
      clientNumber: row.client_number,
      recordType: row.record_type,
      recordId: Number(row.record_id),
      heldAt: row.held_at,
      reason: row.reason ?? 'threshold',
    })),
    heldClients: Number(held?.clients ?? 0),
    approval: approval && withoutBound(approval),
  };
}

async function pendingApproval(db: Db, portal: Portal): Promise<(PendingMailApproval & { coversUpTo: number }) | null> {
  const row = await db('credentials_mail_approvals')
    .where({ portal })
    .first<{ approved_by: string; approved_at: Date; covers_up_to: number | string } | undefined>('approved_by', 'approved_at', 'covers_up_to');
  if (!row) return null;
  const coversUpTo = Number(row.covers_up_to);
  const [covered] = await db('credentials_mails')
    .where({ portal, status: 'held' })
    .where('id', '<=', coversUpTo)
    .count<{ count: string | number }[]>({ count: '*' });
  return { approvedBy: row.approved_by, approvedAt: row.approved_at, covers: Number(covered?.count ?? 0), coversUpTo };
}

function withoutBound({ approvedBy, approvedAt, covers }: PendingMailApproval): PendingMailApproval {
  return { approvedBy, approvedAt, covers };
}

export type MailApprovalOutcome =
  /** Nothing is held at the portal: nothing to approve. */
  | { outcome: 'nothing-held' }
  /** This token approved first already: another token must approve (four eyes). */
  | { outcome: 'same-token'; approval: PendingMailApproval }
  /** Approved once: the held creations wait for a second token. */
  | { outcome: 'first-approval'; approval: PendingMailApproval; stillHeld: number }
  /** Approved by a second token: the creations the first approval covered are let through; their clients sync. */
  | { outcome: 'released'; firstApprover: string; secondApprover: string; released: number; clients: number; stillHeld: number };

/**
 * One operator's approval of the portal's held creations. The first records itself and covers the
 * creations held at that moment; a second, by another token, lets exactly those through (each
 * once) and appends an outbox event for each of their clients, in one transaction, so their syncs
 * create them. Creations held after the first approval wait for the next pair.
 */
export async function approveCredentialsMails(db: Db, portal: Portal, approver: string): Promise<MailApprovalOutcome> {
  return db.transaction(async (trx) => {
    await lockPortal(trx, portal);
    const approval = await pendingApproval(trx, portal);
    // A first approval whose creations have all gone (let through while the guard was off) covers nothing.
    if (approval && approval.covers === 0) await trx('credentials_mail_approvals').where({ portal }).delete();
    const [newest] = await trx('credentials_mails').where({ portal, status: 'held' }).max<{ id: number | string | null }[]>({ id: 'id' });
    const newestHeld = newest?.id === null || newest?.id === undefined ? 0 : Number(newest.id);
    if (!approval || approval.covers === 0) {
      if (newestHeld === 0) return { outcome: 'nothing-held' } as const;
      await trx('credentials_mail_approvals').insert({ portal, approved_by: approver, covers_up_to: newestHeld });
      const recorded = await pendingApproval(trx, portal);
      if (!recorded) throw new Error(`the approval of ${portal} vanished while it was being recorded`);
      return { outcome: 'first-approval', approval: withoutBound(recorded), stillHeld: recorded.covers } as const;
    }
    if (approval.approvedBy === approver) return { outcome: 'same-token', approval: withoutBound(approval) } as const;

    const released = await trx('credentials_mails')
      .where({ portal, status: 'held' })
      .where('id', '<=', approval.coversUpTo)
      .update({ status: 'approved', approved_at: trx.fn.now(), first_approver: approval.approvedBy, second_approver: approver })
      .returning<{ client_number: string }[]>('client_number');
    await trx('credentials_mail_approvals').where({ portal }).delete();
    const clientNumbers = [...new Set(released.map((r) => r.client_number))];
    const clients = await trx('clients').whereIn('client_number', clientNumbers).orderBy('id').select<{ id: number; client_number: string }[]>('id', 'client_number');
    for (let i = 0; i < clients.length; i += 1000) {
      await trx('outbox_events').insert(
        clients
          .slice(i, i + 1000)
          .map((client) => ({ client_number: client.client_number, kind: 'credentials-mails.approved', record_type: 'client', record_id: client.id })),
      );
    }
    const [left] = await trx('credentials_mails').where({ portal, status: 'held' }).count<{ count: string | number }[]>({ count: '*' });
    return {
      outcome: 'released',
      firstApprover: approval.approvedBy,
      secondApprover: approver,
      released: released.length,
      clients: clients.length,
      stillHeld: Number(left?.count ?? 0),
    } as const;
  });
}
