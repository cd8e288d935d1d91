import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../../src/db';
import { ClientOnlineError } from '../../src/portals/client-online/errors';
import type { LedgerWrites } from '../../src/sync/ledger-writes';
import { releaseLoginLeases, tryTakeLoginLeases } from '../../src/sync/login-leases';
import type { ClientOnlineContext } from './context';
import { planSyncRun, type ClientOnlinePlan } from './plan';

/** A plan read under the leases touches logins not leased: the try gives its leases back. */
class LeasesGrew extends Error {
  constructor(readonly refs: Set<string>) {
    super('the plan touches more logins than leased');
  }
}

/**
 * No answer from the service itself (a timeout, a dropped connection, a gateway that gave up on
 * it: 502, 504): the portal may still be applying the request. Any other answer, a refusal or a
 * 500 that says nothing was changed, ends the request there.
 */
export function unanswered(error: unknown): boolean {
  if (!(error instanceof ClientOnlineError)) return false;
  return error.code === 'timeout' || error.code === 'network' || error.status === 502 || error.status === 504;
}

/**
 * A sync run's three steps under the leases of the logins it touches: `prepare` decides, in the
 * transaction that takes the leases, what the run sends (and notes what must be in the ledger
 * before a request goes out); `perform` makes the calls; `close` records the outcome, in the
 * transaction that gives the leases back.
 */
export interface LeasedRun<D> {
  prepare: (trx: Db, plan: ClientOnlinePlan) => Promise<D>;
  perform: (plan: ClientOnlinePlan, decision: D) => Promise<void>;
  close: (trx: Db) => Promise<void>;
}

/** What one try to take the leases came to: the run's plan and decision, or why it must try again. */
export type LeaseAttempt<D> = { plan: ClientOnlinePlan; decision: D } | { busy: true } | { grew: Set<string> };

/**
 * One try, inside `trx`: takes the leases on `wanted`, reads the registry again under them and
 * runs the run's `prepare`, all in a savepoint. A lease another sync holds, or a plan that under
 * the leases touches more logins than leased, leaves nothing behind. A lease taken here is
 * invisible to others until `trx` commits (another taker waits for it), so nothing the reading
 * depends on can change before the leases are seen.
 */
export async function leaseAttempt<D>(context: ClientOnlineContext, trx: Db, clientNumber: string, holder: string, wanted: Set<string>, prepare: LeasedRun<D>['prepare']): Promise<LeaseAttempt<D>> {
  try {
    return await trx.transaction(async (attempt): Promise<LeaseAttempt<D>> => {
      if (!(await tryTakeLoginLeases(attempt, [...wanted], holder, context.leaseMs))) return { busy: true };
      const leased = await planSyncRun(context, clientNumber, undefined, attempt);
      if (![...leased.refs].every((ref) => wanted.has(ref))) throw new LeasesGrew(new Set([...wanted, ...leased.refs]));
      return { plan: leased, decision: await prepare(attempt, leased) };
    });
  } catch (error) {
    if (error instanceof LeasesGrew) return { grew: error.refs };
    throw error;
  }
}

/**
 * Tries until the leases are taken and the run prepared (see leaseAttempt), each try in a
 * transaction of its own, starting from the try the sync's opening transaction made, if any: a
 * lease another sync holds makes it wait (with a growing pause, heartbeats going on); a plan that
 * touches more logins than leased takes the larger set at once, never piecemeal.
 */
async function takeLeasesAndPrepare<D>(
  context: ClientOnlineContext,
  clientNumber: string,
  holder: string,
  signal: AbortSignal | undefined,
  prepare: LeasedRun<D>['prepare'],
  first: { wanted: Set<string>; outcome?: LeaseAttempt<D> },
): Promise<{ plan: ClientOnlinePlan; decision: D }> {
  let { wanted, outcome } = first;
  for (let attempt = 0; ; outcome = undefined) {
    outcome ??= await context.db.transaction((trx) => leaseAttempt(context, trx, clientNumber, holder, wanted, prepare));
    if ('plan' in outcome) return outcome;
    if ('grew' in outcome) {
      wanted = outcome.grew;
      continue;
    }
    const pauseMs = Math.min(1_000, 20 * 2 ** attempt) * (0.5 + Math.random() / 2);
    attempt += 1;
    await sleep(pauseMs, undefined, { signal });
  }
}

/**
 * Runs a sync holding a lease on every login the client's push or delete touches. One person's
 * login appears in the pushes of several clients (his own and each company where he is a
 * contact); two of those at once could make Client Online believe the login is new twice, and a
 * push that read the registry before another one landed would overwrite it with older values.
 * So the registry is read again once the leases are held, and the run gets that reading, with the
 * clients to push first (see plan). The leases are given back with the run's closing records once
 * Client Online has answered; when no answer came they are left to expire, since the portal may
 * still be applying the request. What Client Online confirmed before a failure is recorded then.
 */
export async function withLoginLeases<D>(
  context: ClientOnlineContext,
  clientNumber: string,
  signal: AbortSignal | undefined,
  holder: string,
  /** The logins to lease first, and the opening transaction's try, if it made one. */
  first: { wanted: Set<string>; outcome?: LeaseAttempt<D> },
  ledger: LedgerWrites,
  run: LeasedRun<D>,
): Promise<void> {
  const { plan: leased, decision } = await takeLeasesAndPrepare(context, clientNumber, holder, signal, run.prepare, first);
  try {
    await run.perform(leased, decision);
  } catch (error) {
    const answered = !unanswered(error);
    if (answered || ledger.waiting) {
      await context.db
        .transaction(async (trx) => {
          await ledger.flush(trx);
          if (answered) await releaseLoginLeases(trx, holder);
        })
        .catch(() => undefined);
    }
    throw error;
  }
  await context.db.transaction(async (trx) => {
    await ledger.flush(trx);
    await run.close(trx);
    await releaseLoginLeases(trx, holder);
  });
}
