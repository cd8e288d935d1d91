import { randomUUID } from 'node:crypto';
import type { PortalCallCounter } from '../../src/portals/http';
import { trackPortalFailures } from '../../src/sync/health';
import { LedgerWrites } from '../../src/sync/ledger-writes';
import { isPortalHeld, openUnlessHeld } from '../../src/sync/portal-holds';
import { pendingRepairs } from '../../src/sync/repairs';
import type { SyncClientInput } from '../caseware/types';
import { toActivityFailure } from '../failures';
import { withHeartbeats } from '../heartbeat';
import { portal, type ClientOnlineContext } from './context';
import { leaseAttempt, withLoginLeases, type LeaseAttempt, type LeasedRun } from './leases';
import { meetPersons } from './meet-persons';
import { closeSyncRun, performSyncRun } from './perform';
import { planSyncRun } from './plan';
import { prepareOwnAction, type OwnAction } from './prepare';
import { mustMeet, readClient, type ClientOnlineReading } from './reading';
import type { ClientOnlineSyncRun } from './sync-run';
import type { ClientOnlineSyncSummary } from './types';

/**
 * A sync's opening transaction: whether an operator holds Client Online, the reconcile's repairs
 * and the client's reading; and, unless persons are to be met first (their logins are looked for
 * in Client Online before anything is leased), the first try to lease the logins and prepare the
 * run. In the common case that is the whole of the sync before its request, in one commit. Held:
 * the client is noted for the release, and the sync writes nothing.
 */
async function openSync<D>(
  run: ClientOnlineSyncRun,
  holder: string,
  prepare: LeasedRun<D>['prepare'],
): Promise<'held' | { reading: ClientOnlineReading; lease?: { wanted: Set<string>; outcome: LeaseAttempt<D> } }> {
  const { context, clientNumber } = run;
  return openUnlessHeld(context.db, portal, clientNumber, () =>
    context.db.transaction(async (trx) => {
      if (await isPortalHeld(trx, portal)) return 'held' as const;
      run.repairs = await pendingRepairs(trx, portal, clientNumber);
      const reading = await readClient(context, clientNumber, trx);
      if (mustMeet(reading)) return { reading };
      const wanted = (await planSyncRun(context, clientNumber, reading, trx)).refs;
      return { reading, lease: { wanted, outcome: await leaseAttempt(context, trx, clientNumber, holder, wanted, prepare) } };
    }),
  );
}

/**
 * Persons met for the first time: their existing logins are found before anything is pushed,
 * and the plan is read again after what the meeting recorded.
 */
async function meetFirst(run: ClientOnlineSyncRun, reading: ClientOnlineReading): Promise<{ wanted: Set<string> }> {
  run.met = await meetPersons(run.context, reading, run.portalCalls, run.signal);
  if (run.met.adopted > 0) run.summary.loginsAdopted = run.met.adopted;
  if (run.met.kept > 0) run.summary.usersKept = run.met.kept;
  return { wanted: (await planSyncRun(run.context, run.clientNumber)).refs };
}

function startRun(context: ClientOnlineContext, input: SyncClientInput, signal: AbortSignal | undefined, ledger: LedgerWrites): ClientOnlineSyncRun {
  const calls: PortalCallCounter = { reads: 0, writes: 0 };
  return {
    context,
    input,
    clientNumber: input.clientNumber,
    signal,
    ledger,
    portalCalls: context.clientOnline.withCallCounter?.(calls) ?? context.clientOnline,
    calls,
    errors: [],
    summary: { client: 'absent', users: 0, syncErrors: 0 },
    repairs: { ids: [], drift: [], foundByRunAt: null },
    met: { conflicts: [], adopted: 0, kept: 0, clientHeld: false },
  };
}

async function syncClient(context: ClientOnlineContext, input: SyncClientInput, signal: AbortSignal | undefined, ledger: LedgerWrites): Promise<ClientOnlineSyncSummary> {
  const run = startRun(context, input, signal, ledger);
  const steps: LeasedRun<OwnAction> = {
    prepare: (trx, plan) => prepareOwnAction(run, trx, plan),
    perform: (plan, own) => performSyncRun(run, plan, own),
    close: (trx) => closeSyncRun(run, trx),
  };
  const holder = randomUUID();
  const opening = await openSync(run, holder, steps.prepare);
  // An operator holds Client Online: nothing is pushed (nor handed over), the client waits for the release.
  if (opening === 'held') return { client: 'held', users: 0, syncErrors: 0, held: 'portal' };
  const lease = opening.lease ?? (await meetFirst(run, opening.reading));
  await withLoginLeases(context, run.clientNumber, signal, holder, lease, ledger, steps);
  run.summary.syncErrors = run.errors.length;
  return run.summary;
}

/** The activity: brings one client in Client Online to what the registry holds. */
export async function syncClientToClientOnline(context: ClientOnlineContext, input: SyncClientInput): Promise<ClientOnlineSyncSummary> {
  try {
    return await trackPortalFailures(context.db, portal, () =>
      withHeartbeats(({ signal, resumable }) => syncClient(context, input, signal, new LedgerWrites(context.db, !resumable))),
    );
  } catch (error) {
    throw toActivityFailure(error);
  }
}
