import type { Db } from '../db';

/** A ledger write that records what a portal now holds; run on the database or in a transaction. */
export type LedgerWrite = (db: Db) => Promise<void>;

/**
 * The ledger writes of one sync attempt that record what a portal confirmed (what was sent, the
 * object it answered with). An attempt whose progress reaches a retry (a heartbeating activity)
 * writes each at once, since the retry skips what that progress names. Any other attempt (the
 * local first attempt) keeps them until the transaction that closes the sync, so a sync that
 * changes one thing costs the database one commit at its end instead of one per record; when the
 * attempt fails they are written before the failure goes on, so that a retry never repeats a call
 * that got through. Only a worker that dies in between loses them: the next attempt then finds the
 * ledger behind the portal and sends those values once more, which changes nothing there.
 *
 * Writes that must precede a portal call (the write-ahead of a login, of access, of a push's
 * logins) never go through here.
 */
export class LedgerWrites {
  private readonly pending: LedgerWrite[] = [];

  constructor(
    private readonly db: Db,
    private readonly deferred: boolean,
  ) {}

  async record(write: LedgerWrite): Promise<void> {
    if (this.deferred) this.pending.push(write);
    else await write(this.db);
  }

  /** Writes kept for the closing transaction wait. */
  get waiting(): boolean {
    return this.pending.length > 0;
  }

  /** Writes what waits, on `db` (the closing transaction, or the database after a failure). */
  async flush(db: Db): Promise<void> {
    for (const write of this.pending) await write(db);
    // Only once all went through: a transaction that failed leaves them for the next flush.
    this.pending.length = 0;
  }
}
