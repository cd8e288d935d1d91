import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import type { Db } from '../db';
import { recordAuditEvent, requestAudit, type AuditEventInput } from './audit-events';

// Two writers that meet on the same rows can still end in a deadlock (40P01), or in a
// serialization failure (40001) under repeatable read or serializable, although the registry locks
// in one order (clients before contacts, each by number or id): an offboarding's plan may grow
// between its two lockings, a master's propagation locks its followers after the master. PostgreSQL
// then rolls one of them back whole, so running it again is safe, and it normally goes through.
// Only when it keeps meeting others is the caller told, as a conflict, never as a server fault.

/** How often a registry write is tried before it is refused as a conflict. */
export const writeAttempts = 5;

const retryableCodes = new Set(['40P01', '40001']);

/**
 * How long a registry write waits for a row another transaction holds (lock_timeout, 55P03). A
 * writer that holds a row this long is not one of the registry's short writes (a bulk script, a
 * stuck session): the request is refused as a conflict at once rather than retried, and long
 * before the statement timeout would end it as a server fault.
 */
export const lockWaitMs = 10_000;
const lockNotAvailable = '55P03';

/** A deadlock or serialization failure: the transaction was rolled back and may simply run again. */
export function isWriteConflict(error: unknown): boolean {
  return retryableCodes.has(errorCode(error) ?? '');
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/** A registry write that met other writers of the same records on every attempt; nothing of it was stored. */
export class ConcurrentWriteError extends Error {
  override readonly name = 'ConcurrentWriteError';

  constructor(
    /** What was written, e.g. "contact 12" or "client 1001": no personal data, it is logged and answered. */
    readonly record: string,
    options: { cause: unknown; waited?: boolean },
  ) {
    super(
      options.waited
        ? `another transaction held ${record} for more than ${lockWaitMs / 1000} s; this request changed nothing. Try again.`
        : `other requests were changing ${record} at the same time; this request met them on ${writeAttempts} attempts in a row ` +
            'and changed nothing. Try again.',
      { cause: options.cause },
    );
  }
}

export function isConcurrentWriteError(error: unknown): error is ConcurrentWriteError {
  return error instanceof ConcurrentWriteError;
}

/** 20, 40, 80, 160 ms, each between half and one and a half times that, so the writers part. */
function backoffMs(attempt: number): number {
  return 20 * 2 ** (attempt - 1) * (0.5 + Math.random());
}

/**
 * Runs a registry write in a transaction, again (up to `writeAttempts` in all) when PostgreSQL
 * rolled it back for a deadlock or serialization failure; then a `ConcurrentWriteError` naming
 * `record`. A row held by another transaction for longer than `lockWaitMs` is that error at once.
 * Nested in a caller's transaction it is a savepoint and is not retried: the caller's whole
 * transaction was rolled back, so only the caller can run it again.
 */
export async function writeTransaction<T>(db: Db, record: string, work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  if (db.isTransaction) return db.transaction(work);
  // An audited API request's first write records the request's audit row with it (RequestAudit).
  const audit = requestAudit.getStore();
  for (let attempt = 1; ; attempt += 1) {
    try {
      let written: { id: number; event: AuditEventInput } | undefined;
      const result = await db.transaction(async (trx) => {
        await trx.raw(`set local lock_timeout = ${lockWaitMs}`);
        const outcome = await work(trx);
        const event = audit && !audit.written ? audit.expected() : undefined;
        if (event) written = { id: await recordAuditEvent(trx, event), event };
        return outcome;
      });
      if (audit && written) audit.written = written;
      return result;
    } catch (error) {
      if (errorCode(error) === lockNotAvailable) throw new ConcurrentWriteError(record, { cause: error, waited: true });
      if (!isWriteConflict(error)) throw error;
      if (attempt >= writeAttempts) throw new ConcurrentWriteError(record, { cause: error });
      await sleep(backoffMs(attempt));
    }
  }
}
