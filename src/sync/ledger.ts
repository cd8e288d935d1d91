import { inTransaction, type Db } from '../db';
import type { RowOf } from '../db-rows';
import { toSyncError, type SyncError, type SyncErrorRow } from './sync-errors';

/**
 * The ledger of portal identities (registry record ↔ remote id, the login it owns, what was last
 * sent), the per-record sync errors and the newest change each portal has received.
 */

export type Portal = 'caseware' | 'client_online';
export type RecordType = 'client' | 'contact';

export interface PortalIdentity {
  portal: Portal;
  recordType: RecordType;
  recordId: number;
  clientNumber: string;
  remoteId: string | null;
  loginKey: string | null;
  access: 'active' | 'revoked';
  lastSent: unknown;
  /**
   * Client Online: the logins of pushes sent and not yet answered (noted before each request), which
   * the portal may hold under the client or not. Null once an answer said what it holds.
   */
  unconfirmedRefs: string[] | null;
  syncedAt: Date | null;
}

/**
 * A row of portal_identities: the identity's fields, and the login an email change reserves. The
 * mapper stays written out: it reads a missing unconfirmed_refs as null.
 */
type IdentityRow = RowOf<Omit<PortalIdentity, 'unconfirmedRefs'>> & {
  pending_login_key?: string | null;
  unconfirmed_refs?: string[] | null;
};

function toIdentity(row: IdentityRow): PortalIdentity {
  return {
    portal: row.portal,
    recordType: row.record_type,
    recordId: row.record_id,
    clientNumber: row.client_number,
    remoteId: row.remote_id,
    loginKey: row.login_key,
    access: row.access,
    lastSent: row.last_sent,
    unconfirmedRefs: row.unconfirmed_refs ?? null,
    syncedAt: row.synced_at,
  };
}

export async function identitiesForClient(db: Db, portal: Portal, clientNumber: string): Promise<PortalIdentity[]> {
  const rows = await db<IdentityRow>('portal_identities').where({ portal, client_number: clientNumber }).orderBy('id');
  return rows.map(toIdentity);
}

/**
 * The record that holds a login: as its login, or as the new login of an email change the portal
 * has not confirmed yet (see claimLogin).
 */
export async function loginOwner(db: Db, portal: Portal, loginKey: string): Promise<PortalIdentity | undefined> {
  const row = await db<IdentityRow>('portal_identities')
    .where({ portal })
    .andWhere((q) => void q.where({ login_key: loginKey }).orWhere({ pending_login_key: loginKey }))
    .orderByRaw('coalesce(login_key = ?, false) desc', [loginKey])
    .first();
  return row ? toIdentity(row) : undefined;
}

/**
 * The records that hold these logins (see loginOwner), read in one query: what a sync checks its
 * contacts' logins against before it writes anything.
 */
export async function loginOwners(db: Db, portal: Portal, loginKeys: readonly string[]): Promise<Map<string, PortalIdentity>> {
  const owners = new Map<string, PortalIdentity>();
  if (loginKeys.length === 0) return owners;
  const rows = await db<IdentityRow>('portal_identities')
    .where({ portal })
    .andWhere((q) => void q.whereIn('login_key', loginKeys).orWhereIn('pending_login_key', loginKeys))
    .orderBy('id');
  // A record whose login it is comes before one that has only asked for it.
  for (const row of rows) if (row.login_key !== null && loginKeys.includes(row.login_key)) owners.set(row.login_key, toIdentity(row));
  for (const row of rows) {
    const pending = row.pending_login_key ?? null;
    if (pending !== null && loginKeys.includes(pending) && !owners.has(pending)) owners.set(pending, toIdentity(row));
  }
  return owners;
}

export interface IdentityKey {
  portal: Portal;
  recordType: RecordType;
  recordId: number;
  clientNumber: string;
}

const uniqueViolation = '23505';

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === uniqueViolation;
}

/** Serialises the claims of one login (advisory lock namespace: logins of the ledger). */
const loginLockSpace = 7_301;

/**
 * Makes `loginKey` this record's login, unless another record holds it already (as its login or
 * as a change in flight): the first one sent owns a login. Claims of one login are serialised by an
 * advisory lock on it; the unique indexes stay as the last guard.
 *
 * `pending`: an email change. The new login is reserved in `pending_login_key` while the old one
 * stays this record's `login_key`, so that nobody can claim the old address, and adopt this
 * record's portal user by it, before the portal has confirmed the change (confirmLogin) or refused
 * it (saveIdentity with `pendingLoginKey: null`). A worker that dies in between leaves both
 * reserved, which is safe; the record's next sync finishes or undoes the change.
 */
export async function claimLogin(
  db: Db,
  key: IdentityKey,
  loginKey: string,
  options: { pending?: boolean } = {},
): Promise<{ claimed: true } | { claimed: false; owner: PortalIdentity }> {
  try {
    return await db.transaction(async (trx) => {
      await trx.raw('select pg_advisory_xact_lock(?, hashtext(?))', [loginLockSpace, `${key.portal}:${loginKey}`]);
      const owner = await loginOwner(trx, key.portal, loginKey);
      if (owner && !(owner.recordType === key.recordType && owner.recordId === key.recordId)) return { claimed: false, owner } as const;
      await upsertIdentity(trx, key, options.pending ? { pending_login_key: loginKey } : { login_key: loginKey });
      return { claimed: true } as const;
    });
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    const owner = await loginOwner(db, key.portal, loginKey);
    if (!owner) throw error;
    return { claimed: false, owner };
  }
}

export interface IdentityUpdate {
  remoteId?: string | null;
  loginKey?: string | null;
  /** A login claimed with `pending` and not yet confirmed by the portal; null ends the claim. */
  pendingLoginKey?: string | null;
  access?: 'active' | 'revoked';
  lastSent?: unknown;
  /** Null: the portal has answered, and `lastSent` (or the deletion) is what it holds. */
  unconfirmedRefs?: null;
}

/** Records what the portal now holds for a record; creates the ledger row when it is new. */
export async function saveIdentity(db: Db, key: IdentityKey, update: IdentityUpdate): Promise<void> {
  const changes: Record<string, unknown> = { synced_at: db.fn.now() };
  if (update.remoteId !== undefined) changes.remote_id = update.remoteId;
  if (update.loginKey !== undefined) changes.login_key = update.loginKey;
  if (update.pendingLoginKey !== undefined) changes.pending_login_key = update.pendingLoginKey;
  if (update.access !== undefined) changes.access = update.access;
  if (update.lastSent !== undefined) changes.last_sent = update.lastSent === null ? null : JSON.stringify(update.lastSent);
  if (update.unconfirmedRefs !== undefined) changes.unconfirmed_refs = null;
  await upsertIdentity(db, key, changes);
}

/**
 * Records that the portal object `update.remoteId` is now this record's. One portal object belongs
 * to one live ledger identity at a time: a revoked identity that still names it (a deleted
 * contact whose CaseWare user a new contact with the same email has adopted) gives it up, in the
 * same transaction, so that nothing reads that object's state as its own any more.
 */
export async function takeRemoteObject(db: Db, key: IdentityKey, update: IdentityUpdate & { remoteId: string }): Promise<void> {
  await db.transaction(async (trx) => {
    await trx('portal_identities')
      .where({ portal: key.portal, record_type: key.recordType, remote_id: update.remoteId, access: 'revoked' })
      .whereNot({ record_id: key.recordId })
      .update({ remote_id: null });
    await saveIdentity(trx, key, update);
  });
}

/**
 * Notes, before a request, the logins it may leave under the client, added to those of earlier
 * requests still unanswered: until an answer comes, any of them may be what the portal holds.
 */
export async function noteUnconfirmedRefs(db: Db, key: IdentityKey, refs: readonly string[]): Promise<void> {
  const noted = JSON.stringify([...new Set(refs)].sort());
  await db('portal_identities')
    .insert({ portal: key.portal, record_type: key.recordType, record_id: key.recordId, client_number: key.clientNumber, unconfirmed_refs: noted })
    .onConflict(['portal', 'record_type', 'record_id'])
    .merge({
      unconfirmed_refs: db.raw(
        "(select coalesce(jsonb_agg(distinct ref order by ref), '[]'::jsonb) from jsonb_array_elements_text(coalesce(portal_identities.unconfirmed_refs, '[]'::jsonb) || excluded.unconfirmed_refs) as ref)",
      ),
    });
}

/** Writes columns of a record's ledger row, creating the row when it is new. */
async function upsertIdentity(db: Db, key: IdentityKey, columns: Record<string, unknown>): Promise<void> {
  await db('portal_identities')
    .insert({
      portal: key.portal,
      record_type: key.recordType,
      record_id: key.recordId,
      client_number: key.clientNumber,
      ...columns,
    })
    .onConflict(['portal', 'record_type', 'record_id'])
    .merge(columns);
}

export interface SyncErrorInput {
  recordType: RecordType;
  recordId: number;
  code: string;
  message: string;
}

/**
 * Replaces the open sync errors of one client at one portal by the ones this run found: new ones
 * open, recurring ones stay open (last_seen_at moved on, one more attempt), and the rest resolve
 * themselves.
 */
export async function reportSyncErrors(
  db: Db,
  portal: Portal,
  clientNumber: string,
  errors: readonly SyncErrorInput[],
): Promise<void> {
  await inTransaction(db, async (trx) => {
    const open = await trx('sync_errors')
      .where({ portal, client_number: clientNumber })
      .whereNull('resolved_at')
      .select<{ id: number; record_type: string; record_id: number; code: string }[]>('id', 'record_type', 'record_id', 'code');
    const keyOf = (e: { recordType: string; recordId: number; code: string }) => `${e.recordType}:${e.recordId}:${e.code}`;
    const found = new Map(errors.map((e) => [keyOf(e), e]));
    const resolved = open.filter((row) => !found.has(keyOf({ recordType: row.record_type, recordId: row.record_id, code: row.code })));
    if (resolved.length > 0) {
      await trx('sync_errors').whereIn('id', resolved.map((row) => row.id)).update({ resolved_at: trx.fn.now() });
    }
    for (const error of found.values()) await openSyncError(trx, portal, clientNumber, error);
  });
}

/**
 * Opens one sync error, or counts one more sync that met it while it is open (first_seen_at stays),
 * leaving the client's other errors as they are. An error that recurs after it resolved opens anew.
 */
export async function openSyncError(db: Db, portal: Portal, clientNumber: string, error: SyncErrorInput): Promise<void> {
  await db('sync_errors')
    .insert({
      portal,
      client_number: clientNumber,
      record_type: error.recordType,
      record_id: error.recordId,
      code: error.code,
      message: error.message,
    })
    .onConflict(db.raw('(portal, record_type, record_id, code) where resolved_at is null'))
    .merge({ message: error.message, last_seen_at: db.fn.now(), attempts: db.raw('sync_errors.attempts + 1') });
}

export interface SyncErrorFilter {
  /** By its column value; the errors name it as src/sync/portal-names.ts does. */
  portal?: Portal;
  code?: string;
  clientNumber?: string;
  /** Also the errors that resolved themselves; otherwise open ones only. */
  includeResolved?: boolean;
  /** At most this many errors, the most recently seen first. */
  limit: number;
}

/**
 * The sync errors that match the filter, the most recently seen first, and how many match in all.
 * Run it in a repeatable read transaction where the count must agree with the page.
 */
export async function listSyncErrorRecords(db: Db, filter: SyncErrorFilter): Promise<{ errors: SyncError[]; total: number }> {
  const matching = () =>
    db('sync_errors')
      .where(filter.portal === undefined ? {} : { portal: filter.portal })
      .where(filter.code === undefined ? {} : { code: filter.code })
      .where(filter.clientNumber === undefined ? {} : { client_number: filter.clientNumber })
      .where(filter.includeResolved ? {} : { resolved_at: null });
  const rows = await matching()
    .orderBy([
      { column: 'last_seen_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(filter.limit)
    .select<SyncErrorRow[]>(
      'id',
      'portal',
      'record_type',
      'record_id',
      'client_number',
      'code',
      'message',
      'first_seen_at',
      'last_seen_at',
      'attempts',
      'resolved_at',
    );
  const counted = await matching().count<{ total: number }[]>({ total: '*' });
  return {
    errors: rows.map(toSyncError),
    total: counted[0]?.total ?? 0,
  };
}

/** What a sync run covered: the changes of one client it has brought to a portal. */
export interface AppliedChanges {
  clientNumber: string;
  /** The newest outbox event signalled before the run (kept for workflow runs older than the horizon). */
  uptoEventId: number;
  /**
   * The commit horizon the run was scheduled under: every transaction below it had committed
   * before the run read the registry, so the portal now holds all their changes.
   */
  horizon?: number;
}

/** Notes that the portal has received every change the run covered. */
export async function markApplied(db: Db, portal: Portal, { clientNumber, uptoEventId, horizon }: AppliedChanges): Promise<void> {
  await db('portal_sync_state')
    .insert({ portal, client_number: clientNumber, applied_event_id: uptoEventId, applied_horizon: horizon ?? 0, synced_at: db.fn.now() })
    .onConflict(['portal', 'client_number'])
    .merge({
      // Never backwards: a retry or a slower run may finish after a newer one.
      applied_event_id: db.raw('greatest(portal_sync_state.applied_event_id, excluded.applied_event_id)'),
      applied_horizon: db.raw('greatest(portal_sync_state.applied_horizon, excluded.applied_horizon)'),
      synced_at: db.fn.now(),
    });
}
