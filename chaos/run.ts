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
import { Workload, type Api, type RefuseNext, type WorkloadSize } from './workload';
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

type PortalName = 'caseware' | 'clientOnline';
type Origins = Record<PortalName, string>;

/** The API as the workload calls it, with one token. */
function apiAs(apiUrl: string, token: string): Api {
  return async (method, path, body) => {
    const response = await fetch(`${apiUrl}${path}`, {
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
}

/** Makes a portal simulator refuse the next such call once (422). */
function refuseNextAt(origins: Origins): RefuseNext {
  return async (portal, call) => {
    const response = await fetch(`${origins[portal]}/_sim/script`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rules: [{ ...call, status: 422, times: 1 }] }),
    });
    if (!response.ok) throw new Error(`/_sim/script answered ${response.status}`);
  };
}

/** What the storm's lanes share: whether it goes on, what each portal's faults are now, and what was done. */
interface Storm {
  readonly start: number;
  storming: boolean;
  faultState: Record<PortalName, Record<string, number>>;
  faultWindows: number;
  tokenExpiries: number;
  crashes: ChaosReport['figures']['crashesSurvived'];
  setFaults(portal: PortalName, settings: Record<string, number | boolean>): Promise<unknown>;
}

/** Portal faults: per portal, windows of faults (2-8 s) and calm (3-10 s), seeded. */
async function faultLane(storm: Storm, portal: PortalName, laneRandom: () => number, rates: ChaosOptions['faultRates']): Promise<void> {
  while (storm.storming) {
    await sleep(3_000 + laneRandom() * 7_000);
    if (!storm.storming) break;
    const scale = 0.5 + laneRandom();
    const settings = {
      seed: Math.floor(laneRandom() * 1e9),
      errorRate: round(rates.errorRate * scale),
      rateLimitRate: round(rates.rateLimitRate * scale),
      hangRate: round(rates.hangRate * scale),
      dropRate: round(rates.dropRate * scale),
    };
    storm.faultState[portal] = settings;
    storm.faultWindows += 1;
    await storm.setFaults(portal, settings);
    await sleep(2_000 + laneRandom() * 6_000);
    storm.faultState[portal] = {};
    await storm.setFaults(portal, {});
  }
}

async function crash(storm: Storm, stack: ChaosStack, kind: Crash, random: () => number, log: (line: string) => void): Promise<void> {
  const { crashes } = storm;
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
      await storm.setFaults('caseware', { ...storm.faultState.caseware, expireTokensNow: true });
      storm.tokenExpiries += 1;
      break;
  }
}

/** Crashes, one at a time, at their scheduled moments. */
async function crashLane(storm: Storm, stack: ChaosStack, options: ChaosOptions, random: () => number): Promise<void> {
  for (const { at, kind } of crashSchedule(random, options)) {
    const wait = storm.start + at - Date.now();
    if (wait > 0) await sleep(wait);
    const t0 = Date.now();
    await crash(storm, stack, kind, random, options.log);
    options.log(`chaos: ${kind} done in ${Date.now() - t0} ms`);
    // The storm runs on between crashes, even when a restart took longer than planned.
    await sleep(3_000 + random() * 5_000);
  }
}

/** What must hold once the run is quiet (or has waited long enough). */
async function runChecks(stack: ChaosStack, workload: Workload, origins: Origins, api: Api, quiet: boolean, quietTimeoutMs: number): Promise<CheckResult[]> {
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
  if (!quiet) checks.push({ name: 'quiet', figures: {}, violations: [`no quiet within ${quietTimeoutMs} ms after the storm`] });
  return checks;
}

/** The faults the simulators injected, by kind, and the token expiries. */
async function faultsInjectedAt(origins: Origins, tokenExpiries: number): Promise<Record<string, number>> {
  const injected: Record<string, number> = {};
  for (const origin of Object.values(origins)) {
    const { injected: counts } = await simHook<{ injected: Record<string, number> }>(origin, 'GET', 'faults');
    for (const [kind, n] of Object.entries(counts)) injected[kind] = (injected[kind] ?? 0) + n;
  }
  return {
    '5xx': (injected['500'] ?? 0) + (injected['503'] ?? 0),
    '429': injected['429'] ?? 0,
    hung: injected.hang ?? 0,
    dropped: injected.drop ?? 0,
    'token expiry': tokenExpiries,
  };
}

async function run(stack: ChaosStack, options: ChaosOptions, random: () => number, started: number): Promise<ChaosReport> {
  const { log } = options;
  const origins: Origins = { caseware: stack.simulators.caseware.origin, clientOnline: stack.simulators.clientOnline.origin };
  const api = apiAs(stack.apiUrl, stack.token);
  const workload = new Workload(api, apiAs(stack.apiUrl, stack.approverToken), options.seed, options.size, log, refuseNextAt(origins));
  const storm: Storm = {
    start: Date.now(),
    storming: true,
    faultState: { caseware: {}, clientOnline: {} },
    faultWindows: 0,
    tokenExpiries: 0,
    crashes: { worker: 0, temporal: 0, databaseDrops: 0, databaseConnectionsTerminated: 0 },
    setFaults: (portal, settings) =>
      simHook(origins[portal], 'POST', 'faults', settings).catch((error: unknown) => log(`faults ${portal}: ${String(error)}`)),
  };
  const stormEnd = storm.start + options.stormMs;

  const lanes = [
    faultLane(storm, 'caseware', mulberry32(options.seed + 1), options.faultRates),
    faultLane(storm, 'clientOnline', mulberry32(options.seed + 2), options.faultRates),
  ];
  const crashesDone = crashLane(storm, stack, options, random);
  await workload.register();
  log(`registered ${workload.clients.size} clients, ${workload.contacts.size} contacts in ${Date.now() - storm.start} ms`);
  await workload.storm(stormEnd);
  await crashesDone;
  storm.storming = false;
  await Promise.all(lanes);
  await Promise.all([storm.setFaults('caseware', {}), storm.setFaults('clientOnline', {})]);
  const stormDone = Date.now();
  log(`storm over after ${stormDone - storm.start} ms; waiting for quiet`);

  const quiet = await waitForQuiet(stack, workload, origins, options.quietTimeoutMs, log);
  const quietAfterMs = Date.now() - stormDone;
  log(quiet ? `quiet after ${quietAfterMs} ms` : `no quiet within ${options.quietTimeoutMs} ms; checking what is there`);

  const checks = await runChecks(stack, workload, origins, api, quiet, options.quietTimeoutMs);
  const faultsInjected = await faultsInjectedAt(origins, storm.tokenExpiries);
  return {
    seed: options.seed,
    checks,
    violations: checks.flatMap((check) => check.violations.map((violation) => ({ check: check.name, violation }))),
    figures: {
      changes: workload.figures.changes,
      refusedOrUnknown: workload.figures.refused,
      faultsInjected,
      faultWindows: storm.faultWindows,
      tokenExpiries: storm.tokenExpiries,
      crashesSurvived: storm.crashes,
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
