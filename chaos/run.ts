import os from 'node:os';
import { mulberry32 } from '../src/simulators/caseware/simulator';
import { simHook } from '../bench/context';
import {
  checkConvergence,
  checkDuplicatesAndMails,
  checkNothingLost,
  checkOffboardings,
  checkPrivacy,
  checkWorkflows,
  portalStates,
  type CheckResult,
} from './checks';
import { startChaosStack, type ChaosStack } from './stack';
import { Workload, type RefuseNext, type WorkloadSize } from './workload';
import { portalDifferences } from '../test/support/convergence';

// The chaos run: the workload of chaos/workload.ts on the stack of chaos/stack.ts while, at seeded
// random moments, the portals fail (5xx, 429, hung requests, dropped connections), CaseWare's
// tokens expire, the worker process is SIGKILLed and started again, the Temporal dev server is
// SIGKILLed and started again on its history file, and the service's database connections are
// terminated. Then the faults stop, the run waits for quiet, and checks what must hold.

export interface ChaosOptions {
  seed: number;
  size: WorkloadSize;
  /** How long the storm of edits lasts, faults and crashes going on meanwhile. */
  stormMs: number;
  crashes: { worker: number; temporal: number; databaseDrops: number; tokenExpiries: number };
  /** Portal fault rates while a fault window is open (each portal has windows of its own). */
  faultRates: { errorRate: number; rateLimitRate: number; hangRate: number; dropRate: number };
  /** How long to wait for quiet after the storm. */
  quietTimeoutMs: number;
  adminUrl: string;
  log: (line: string) => void;
  /** SIGINT and SIGTERM stop the stack and end the process (the command line's run). */
  stopOnSignals?: boolean;
}

export interface ChaosReport {
  seed: number;
  violations: { check: string; violation: string }[];
  checks: CheckResult[];
  figures: {
    changes: Record<string, number>;
    refusedOrUnknown: Record<string, number>;
    faultsInjected: Record<string, number>;
    faultWindows: number;
    tokenExpiries: number;
    crashesSurvived: { worker: number; temporal: number; databaseDrops: number; databaseConnectionsTerminated: number };
    unexpectedWorkerExits: number;
    offboardings: number;
    approvals: number;
    /** Offboarding steps a portal was made to refuse once; refusals the follower read on a step (and resynced). */
    refusalsInjected: number;
    refusalsSeen: number;
    reconcileRuns: number;
    quietAfterMs: number;
    durationMs: number;
    machine: string;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Crash = 'worker' | 'temporal' | 'databaseDrop' | 'tokenExpiry';

/** The crash lane's moments: each kind spread over the storm, in a seeded order, one at a time. */
function crashSchedule(random: () => number, options: ChaosOptions): { at: number; kind: Crash }[] {
  const kinds: Crash[] = [
    ...Array<Crash>(options.crashes.worker).fill('worker'),
    ...Array<Crash>(options.crashes.temporal).fill('temporal'),
    ...Array<Crash>(options.crashes.databaseDrops).fill('databaseDrop'),
    ...Array<Crash>(options.crashes.tokenExpiries).fill('tokenExpiry'),
  ].sort(() => random() - 0.5);
  // The first one after 10% of the storm, the last before 85%: the storm runs on around them.
  const span = options.stormMs * 0.75;
  return kinds.map((kind, i) => ({ kind, at: options.stormMs * 0.1 + (span * (i + random() * 0.8)) / Math.max(1, kinds.length) }));
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const { log } = options;
  const started = Date.now();
  const random = mulberry32(options.seed);
  const stack = await startChaosStack({ adminUrl: options.adminUrl, log });
  // Ctrl-C stops every process the run started and drops its database.
  const interrupted = () => void stack.stop().finally(() => process.exit(130));
  if (options.stopOnSignals) {
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
  }
  try {
    return await run(stack, options, random, started);
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await stack.stop();
  }
}

async function run(stack: ChaosStack, options: ChaosOptions, random: () => number, started: number): Promise<ChaosReport> {
  const { log } = options;
  const apiAs = (token: string) => async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${stack.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body: parsed };
  };
  const origins = { caseware: stack.simulators.caseware.origin, clientOnline: stack.simulators.clientOnline.origin };
  const api = apiAs(stack.token);
  const refuseNext: RefuseNext = async (portal, call) => {
    const response = await fetch(`${origins[portal]}/_sim/script`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rules: [{ ...call, status: 422, times: 1 }] }),
    });
    if (!response.ok) throw new Error(`/_sim/script answered ${response.status}`);
  };
  const workload = new Workload(api, apiAs(stack.approverToken), options.seed, options.size, log, refuseNext);
  const crashes = { worker: 0, temporal: 0, databaseDrops: 0, databaseConnectionsTerminated: 0 };
  let tokenExpiries = 0;
  let faultWindows = 0;
  const faultState: Record<'caseware' | 'clientOnline', Record<string, number>> = { caseware: {}, clientOnline: {} };
  const setFaults = (portal: 'caseware' | 'clientOnline', settings: Record<string, number | boolean>) =>
    simHook(origins[portal], 'POST', 'faults', settings).catch((error: unknown) => log(`faults ${portal}: ${String(error)}`));

  const stormStart = Date.now();
  const stormEnd = stormStart + options.stormMs;
  let storming = true;

  // Portal faults: per portal, windows of faults (2-8 s) and calm (3-10 s), seeded.
  const faultLane = async (portal: 'caseware' | 'clientOnline', laneRandom: () => number) => {
    while (storming) {
      await sleep(3_000 + laneRandom() * 7_000);
      if (!storming) break;
      const scale = 0.5 + laneRandom();
      const settings = {
        seed: Math.floor(laneRandom() * 1e9),
        errorRate: round(options.faultRates.errorRate * scale),
        rateLimitRate: round(options.faultRates.rateLimitRate * scale),
        hangRate: round(options.faultRates.hangRate * scale),
        dropRate: round(options.faultRates.dropRate * scale),
      };
      faultState[portal] = settings;
      faultWindows += 1;
      await setFaults(portal, settings);
      await sleep(2_000 + laneRandom() * 6_000);
      faultState[portal] = {};
      await setFaults(portal, {});
    }
  };

  // Crashes, one at a time, at their scheduled moments.
  const crashLane = async () => {
    for (const { at, kind } of crashSchedule(random, options)) {
      const wait = stormStart + at - Date.now();
      if (wait > 0) await sleep(wait);
      const t0 = Date.now();
      switch (kind) {
        case 'worker':
          log('chaos: SIGKILL the worker');
          await stack.killWorker(500 + random() * 3_000);
          crashes.worker += 1;
          break;
        case 'temporal':
          log('chaos: SIGKILL the Temporal dev server');
          await stack.killTemporal(1_000 + random() * 4_000);
          crashes.temporal += 1;
          break;
        case 'databaseDrop': {
          const n = await stack.dropDatabaseConnections();
          log(`chaos: terminated ${n} database connections of the service`);
          crashes.databaseDrops += 1;
          crashes.databaseConnectionsTerminated += n;
          break;
        }
        case 'tokenExpiry':
          log('chaos: CaseWare tokens expire now');
          await setFaults('caseware', { ...faultState.caseware, expireTokensNow: true });
          tokenExpiries += 1;
          break;
      }
      log(`chaos: ${kind} done in ${Date.now() - t0} ms`);
      // The storm runs on between crashes, even when a restart took longer than planned.
      await sleep(3_000 + random() * 5_000);
    }
  };

  const lanes = [
    faultLane('caseware', mulberry32(options.seed + 1)),
    faultLane('clientOnline', mulberry32(options.seed + 2)),
  ];
  const crashesDone = crashLane();
  await workload.register();
  log(`registered ${workload.clients.size} clients, ${workload.contacts.size} contacts in ${Date.now() - stormStart} ms`);
  await workload.storm(stormEnd);
  await crashesDone;
  storming = false;
  await Promise.all(lanes);
  await Promise.all([setFaults('caseware', {}), setFaults('clientOnline', {})]);
  const stormDone = Date.now();
  log(`storm over after ${stormDone - stormStart} ms; waiting for quiet`);

  const quiet = await waitForQuiet(stack, workload, origins, options.quietTimeoutMs, log);
  const quietAfterMs = Date.now() - stormDone;
  log(quiet ? `quiet after ${quietAfterMs} ms` : `no quiet within ${options.quietTimeoutMs} ms; checking what is there`);

  const states = await portalStates(origins);
  const checks: CheckResult[] = [];
  checks.push(await checkConvergence(stack.database.db, states));
  checks.push(await checkDuplicatesAndMails(stack.database.db, states));
  checks.push(await checkNothingLost(stack.database.db, api));
  checks.push(checkPrivacy(states.clientOnline, workload.personClients()));
  checks.push(await checkOffboardings(stack.database.db, workload.figures.offboardings));
  checks.push(await checkWorkflows(stack.temporal().connection.client, stack.taskQueue));
  const workloadCheck: CheckResult = {
    name: 'the API answered as expected',
    figures: { 'unexpected answers': workload.figures.unexpected.length, 'worker exits on its own': stack.unexpectedWorkerExits.length },
    violations: [...workload.figures.unexpected, ...stack.unexpectedWorkerExits],
  };
  checks.push(workloadCheck);
  if (!quiet) checks.push({ name: 'quiet', figures: {}, violations: [`no quiet within ${options.quietTimeoutMs} ms after the storm`] });

  const injected: Record<string, number> = {};
  for (const origin of Object.values(origins)) {
    const { injected: counts } = await simHook<{ injected: Record<string, number> }>(origin, 'GET', 'faults');
    for (const [kind, n] of Object.entries(counts)) injected[kind] = (injected[kind] ?? 0) + n;
  }
  const faultsInjected: Record<string, number> = {
    '5xx': (injected['500'] ?? 0) + (injected['503'] ?? 0),
    '429': injected['429'] ?? 0,
    hung: injected.hang ?? 0,
    dropped: injected.drop ?? 0,
    'token expiry': tokenExpiries,
  };
  return {
    seed: options.seed,
    checks,
    violations: checks.flatMap((check) => check.violations.map((violation) => ({ check: check.name, violation }))),
    figures: {
      changes: workload.figures.changes,
      refusedOrUnknown: workload.figures.refused,
      faultsInjected,
      faultWindows,
      tokenExpiries,
      crashesSurvived: crashes,
      unexpectedWorkerExits: stack.unexpectedWorkerExits.length,
      offboardings: workload.figures.offboardings.length,
      approvals: workload.figures.approvals,
      refusalsInjected: workload.figures.refusalsInjected,
      refusalsSeen: workload.figures.refusalsSeen,
      reconcileRuns: workload.figures.reconcileRuns.length,
      quietAfterMs,
      durationMs: Date.now() - started,
      machine: `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, load ${os.loadavg().map((n) => n.toFixed(1)).join(' ')}`,
    },
  };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/**
 * Quiet: every outbox event delivered, no offboarding or reconcile run going, no workflow running
 * an activity, and no difference between the registry and the portals, twice in a row.
 */
async function waitForQuiet(
  stack: ChaosStack,
  workload: Workload,
  origins: { caseware: string; clientOnline: string },
  timeoutMs: number,
  log: (line: string) => void,
): Promise<boolean> {
  const db = stack.database.db;
  const deadline = Date.now() + timeoutMs;
  let calmRounds = 0;
  let lastLog = 0;
  while (Date.now() < deadline) {
    const reasons: string[] = [];
    try {
      const undelivered = Number((await db('outbox_events').whereNull('delivered_at').count({ n: '*' }))[0]?.n ?? 0);
      if (undelivered > 0) reasons.push(`${undelivered} undelivered`);
      if (workload.offboardingsRunning > 0) reasons.push(`${workload.offboardingsRunning} offboardings`);
      const offboardings = Number((await db('offboardings').whereIn('status', ['running', 'awaiting-approval']).count({ n: '*' }))[0]?.n ?? 0);
      if (offboardings > 0) reasons.push(`${offboardings} offboardings recorded running`);
      const reconciles = Number((await db('reconcile_runs').where({ status: 'running' }).count({ n: '*' }))[0]?.n ?? 0);
      if (reconciles > 0) reasons.push(`${reconciles} reconcile runs`);
      if (reasons.length === 0) {
        const differences = await portalDifferences(db, await portalStates(origins));
        if (differences.length > 0) reasons.push(`${differences.length} differences`);
      }
      if (reasons.length === 0) {
        let busy = 0;
        const client = stack.temporal().connection.client;
        for await (const execution of client.workflow.list({ query: `TaskQueue = '${stack.taskQueue}' AND ExecutionStatus = 'Running'` })) {
          const { raw } = await client.workflow.getHandle(execution.workflowId, execution.runId).describe();
          // A pending workflow task may be running a sync's first attempt (a local activity).
          if ((raw.pendingActivities ?? []).length > 0 || raw.pendingWorkflowTask) busy += 1;
        }
        if (busy > 0) reasons.push(`${busy} workflows running an activity or a workflow task`);
      }
    } catch (error) {
      reasons.push(`probe failed: ${String(error).slice(0, 200)}`);
    }
    if (reasons.length === 0) {
      calmRounds += 1;
      if (calmRounds >= 2) return true;
    } else {
      calmRounds = 0;
      if (Date.now() - lastLog > 10_000) {
        log(`not quiet yet: ${reasons.join(', ')}`);
        lastLog = Date.now();
      }
    }
    await sleep(1_000);
  }
  return false;
}
