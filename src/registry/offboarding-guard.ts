import type { Knex } from 'knex';
import type { Db } from '../db';
import { RegistryError } from './errors';
import { lockClientForUpdate, lockContactForUpdate } from './locks';

// While an offboarding runs, nobody else may change the links, master links or status of the
// records in its plan (domain.md, "Offboarding"): that would undo a step half-way.

export type OffboardingStatus = 'running' | 'awaiting-approval' | 'completed' | 'failed' | 'cancelled';

/** Offboardings that still hold their records. */
export const unfinishedStatuses: readonly OffboardingStatus[] = ['running', 'awaiting-approval'];

export interface GuardedRecord {
  type: 'client' | 'contact';
  /** The client number, or the contact id. */
  key: string | number;
}

/** An unfinished offboarding that holds one of the records asked about, and which record. */
export interface Holding {
  offboardingId: number;
  /** "client 1001" or "contact 12". */
  record: string;
}

/** An unfinished offboarding and a record it holds, as the guard's query reads them. */
interface HoldingRow {
  id: number;
  status: 'running' | 'awaiting-approval';
  record_type: string;
  record_key: string;
}

/** The unfinished offboardings (other than `self`) holding any of `records`, oldest first; `limit` rows at most. */
async function holdingRows(db: Db, records: readonly GuardedRecord[], self: number | undefined, limit?: number): Promise<HoldingRow[]> {
  if (records.length === 0) return [];
  return db('offboarding_records as r')
    .join('offboardings as o', 'o.id', 'r.offboarding_id')
    .whereIn('o.status', unfinishedStatuses)
    .where((q) => {
      for (const record of records) void q.orWhere({ 'r.record_type': record.type, 'r.record_key': String(record.key) });
    })
    .modify((q) => {
      if (self !== undefined) void q.whereNot('o.id', self);
      if (limit !== undefined) void q.limit(limit);
    })
    .orderBy('o.id')
    .select<HoldingRow[]>('o.id', 'o.status', 'r.record_type', 'r.record_key');
}

/**
 * The unfinished offboarding (other than `self`) that holds one of `records`, if any. Call it in the
 * transaction of the write it guards, after locking the client row the write belongs to: an
 * offboarding is stored under that lock too.
 */
export async function offboardingHolding(db: Db, records: readonly GuardedRecord[], self?: number): Promise<Holding | undefined> {
  const [row] = await holdingRows(db, records, self, 1);
  if (!row) return undefined;
  return { offboardingId: row.id, record: row.record_type === 'client' ? `client ${row.record_key}` : `contact ${row.record_key}` };
}

/** Every unfinished offboarding holding any of `records`, once each, oldest first, with its status (a read: no locks). */
export async function offboardingsHoldingAny(db: Db, records: readonly GuardedRecord[]): Promise<{ id: number; status: HoldingRow['status'] }[]> {
  const seen = new Map<number, HoldingRow['status']>();
  for (const row of await holdingRows(db, records, undefined)) seen.set(row.id, row.status);
  return [...seen].map(([id, status]) => ({ id, status }));
}

/**
 * The refusal to give when an unfinished offboarding (other than `self`) holds one of `records`,
 * naming it; undefined when none does. Same locking as `offboardingHolding`.
 */
export async function unfinishedOffboardingHolding(
  db: Db,
  records: readonly GuardedRecord[],
  self?: number,
): Promise<string | undefined> {
  const holding = await offboardingHolding(db, records, self);
  if (!holding) return undefined;
  return (
    `${holding.record} is being offboarded by offboarding ${holding.offboardingId} (GET /offboardings/${holding.offboardingId}); its links, master link and ` +
    'status cannot change until that offboarding has finished or is cancelled'
  );
}

/** Who is making a guarded change: an offboarding's own steps pass its id. */
export interface WriteOptions {
  offboardingId?: number;
}

/**
 * Refuses a link, master or status change of a record an unfinished offboarding holds. Locks the
 * record first (./locks.ts): an offboarding is stored under an exclusive lock of its clients' rows,
 * so the two never interleave.
 */
export async function refuseWhileOffboarding(trx: Knex.Transaction, record: GuardedRecord, options: WriteOptions = {}): Promise<void> {
  if (record.type === 'client') await lockClientForUpdate(trx, String(record.key));
  else await lockContactForUpdate(trx, Number(record.key));
  const holder = await unfinishedOffboardingHolding(trx, [record], options.offboardingId);
  if (holder) throw new RegistryError('conflict', holder);
}
