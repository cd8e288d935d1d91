import { CaseWareClient } from '../src/portals/caseware/client';
import { ClientOnlineClient } from '../src/portals/client-online/client';
import type { ReconcileRunDetails } from '../src/registry/reconcile-runs';
import type { SimulatorState as CaseWareState } from '../src/simulators/caseware/simulator';
import type { SimulatorState as ClientOnlineState } from '../src/simulators/client-online/simulator';
import {
  cpuDelta,
  cpuSnapshot,
  expectApi,
  letRateLimitsRefill,
  portalCalls,
  portalCallsDelta,
  round,
  RssSampler,
  simHook,
  type BenchContext,
  type CallSummary,
  type CpuUse,
} from './context';
import type { SeededClient } from './seed';

// Section 1: the reconcile of a large firm. A clean run first (the seed is exactly what the syncs
// would have made, so it must find no drift and write nothing), then one after drift made by hand
// through the portals' APIs, with what its repairs cost.

type PortalReport = NonNullable<ReconcileRunDetails['report']>['portals'][number];

export interface ReconcileRun {
  runId: number;
  status: string;
  dryRun: boolean;
  /** From the API call to its answer. */
  wallSeconds: number;
  /** The run's own report (durationMs). */
  reportSeconds: number;
  portals: PortalReport[];
  repairs: { status: string; count: number }[];
  /** What the simulators counted while the run went on: the other side of the wire. */
  simulatorCalls: { caseware: CallSummary; clientOnline: CallSummary };
  cpu: CpuUse;
  serviceMaxRssMiB: number;
}

export interface ReconcileBound {
  /** Reads of the clean run per portal (simulators' count), and what they take at the rate limit. */
  casewareReads: number;
  clientOnlineReads: number;
  /** Reads ÷ rate limit of the slower portal (the two are read at once). */
  boundSeconds: number;
  /** The same, less what a full token bucket (the burst) lets through at once. */
  boundWithBurstSeconds: number;
  /** Clean run's duration ÷ boundSeconds; the target is at most 1.2 (or a run of at most 60 s). */
  ratio: number;
  withinTarget: boolean;
}

export interface ReconcileSection {
  clients: number;
  contacts: number;
  clean: ReconcileRun;
  bound: ReconcileBound;
  drift: {
    made: { entityFieldEdits: number; deactivatedUsers: number; deletedClientOnlineClients: number; calls: number; seconds: number };
    run: ReconcileRun;
    /** Credentials mails the repairs made the portals send. */
    mailsSent: { caseware: number; clientOnline: number };
    /** A dry run after the repairs: what drift is left. */
    afterRepairs: { caseware: number; clientOnline: number };
  };
}

async function runReconcile(context: BenchContext, options: { dryRun?: boolean } = {}): Promise<ReconcileRun> {
  const callsBefore = await portalCalls(context);
  const cpuBefore = cpuSnapshot(context);
  const rss = new RssSampler(context.service.pid).start();
  const started = Date.now();
  const run = await expectApi<ReconcileRunDetails>(context, 'POST', '/reconcile', { wait: true, dryRun: options.dryRun ?? false });
  const wallSeconds = (Date.now() - started) / 1000;
  const serviceMaxRssMiB = rss.stop();
  const cpu = cpuDelta(cpuSnapshot(context), cpuBefore);
  const simulatorCalls = portalCallsDelta(await portalCalls(context), callsBefore);
  const details = await expectApi<ReconcileRunDetails>(context, 'GET', `/reconcile/runs/${run.id}`);
  const repairs = new Map<string, number>();
  for (const repair of details.repairs) repairs.set(`${repair.portal}:${repair.status}`, (repairs.get(`${repair.portal}:${repair.status}`) ?? 0) + 1);
  return {
    runId: run.id,
    status: run.status,
    dryRun: run.dryRun,
    wallSeconds: round(wallSeconds),
    reportSeconds: round((run.report?.durationMs ?? 0) / 1000),
    portals: run.report?.portals ?? [],
    repairs: [...repairs].map(([status, count]) => ({ status, count })),
    simulatorCalls,
    cpu,
    serviceMaxRssMiB,
  };
}

function drifted(run: ReconcileRun, portal: 'caseware' | 'clientOnline'): number {
  return run.portals.find((p) => p.portal === portal)?.drifted ?? Number.NaN;
}

/** Drift on 1% of the clients, made as a person would, through the portals' own APIs. */
async function makeDrift(context: BenchContext, seeded: readonly SeededClient[]) {
  const { caseware: cwSim, clientOnline: coSim } = context.simulators;
  const caseware = new CaseWareClient({ baseUrl: cwSim.baseUrl, clientId: cwSim.clientId, clientSecret: cwSim.clientSecret });
  const clientOnline = new ClientOnlineClient({ baseUrl: coSim.baseUrl, apiKey: coSim.apiKey });
  const count = Math.max(3, Math.round(seeded.length / 100));
  const made = { entityFieldEdits: 0, deactivatedUsers: 0, deletedClientOnlineClients: 0 };
  const before = await portalCalls(context);
  const started = Date.now();
  const today = new Date().toISOString().slice(0, 10);
  for (let i = 0; i < count; i += 1) {
    const client = seeded[Math.floor((i * seeded.length) / count)]!;
    if (i % 3 === 0) {
      await caseware.updateEntity(client.entityGuid, { City: 'Drifted by hand' });
      made.entityFieldEdits += 1;
    } else if (i % 3 === 1) {
      await caseware.deactivateUser(client.contacts[0]!.userGuid, today);
      made.deactivatedUsers += 1;
    } else {
      await clientOnline.deleteClient(client.clientNumber);
      made.deletedClientOnlineClients += 1;
    }
  }
  const calls = portalCallsDelta(await portalCalls(context), before);
  return { ...made, calls: calls.caseware.writes + calls.clientOnline.writes, seconds: round((Date.now() - started) / 1000) };
}

export async function reconcileSection(context: BenchContext, seeded: readonly SeededClient[]): Promise<ReconcileSection> {
  const contacts = seeded.reduce((sum, client) => sum + client.contacts.length, 0);
  await letRateLimitsRefill(context);
  context.log(`reconcile: clean run over ${seeded.length} clients / ${contacts} contacts ...`);
  const clean = await runReconcile(context);
  const casewareReads = clean.simulatorCalls.caseware.reads;
  const clientOnlineReads = clean.simulatorCalls.clientOnline.reads;
  const { burst, perSecond } = context.rateLimit;
  const boundSeconds = Math.max(casewareReads, clientOnlineReads) / perSecond;
  const boundWithBurstSeconds = Math.max(0, Math.max(casewareReads, clientOnlineReads) - burst) / perSecond;
  const ratio = clean.wallSeconds / boundSeconds;
  const bound: ReconcileBound = {
    casewareReads,
    clientOnlineReads,
    boundSeconds: round(boundSeconds),
    boundWithBurstSeconds: round(boundWithBurstSeconds),
    ratio: round(ratio),
    withinTarget: clean.wallSeconds <= 60 || ratio <= 1.2,
  };
  if (drifted(clean, 'caseware') !== 0 || drifted(clean, 'clientOnline') !== 0) {
    context.log(`reconcile: the clean run found drift (CaseWare ${drifted(clean, 'caseware')}, Client Online ${drifted(clean, 'clientOnline')}): the seed or the reconcile is wrong`);
  }

  context.log('reconcile: making 1% drift by hand through the portals\' APIs ...');
  const mailsBefore = await mailCounts(context);
  const made = await makeDrift(context, seeded);
  await letRateLimitsRefill(context);
  context.log('reconcile: run after drift ...');
  const run = await runReconcile(context);
  const mailsAfter = await mailCounts(context);
  await letRateLimitsRefill(context);
  context.log('reconcile: dry run to check the repairs ...');
  const check = await runReconcile(context, { dryRun: true });
  return {
    clients: seeded.length,
    contacts,
    clean,
    bound,
    drift: {
      made,
      run,
      mailsSent: { caseware: mailsAfter.caseware - mailsBefore.caseware, clientOnline: mailsAfter.clientOnline - mailsBefore.clientOnline },
      afterRepairs: { caseware: drifted(check, 'caseware'), clientOnline: drifted(check, 'clientOnline') },
    },
  };
}

/** Credentials mails each simulator has sent (one read of its whole state). */
export async function mailCounts(context: BenchContext): Promise<{ caseware: number; clientOnline: number }> {
  const [caseware, clientOnline] = await Promise.all([
    simHook<CaseWareState>(context.simulators.caseware.origin, 'GET', 'state'),
    simHook<ClientOnlineState>(context.simulators.clientOnline.origin, 'GET', 'state'),
  ]);
  return { caseware: caseware.mails.length, clientOnline: clientOnline.mails.length };
}
