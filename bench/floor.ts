import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { registryChangedSignal, type RegistryChange } from '../workflows/definitions';
import { cpuDelta, cpuSnapshot, round, type BenchContext } from './context';
import type { floorBareWorkflow, floorSyncWorkflow } from './floor-workflow';
import { countHistories, perChange } from './history';
import { startNode, type StartedProcess } from './infra';
import { cpuSeconds, threadCpuSeconds } from './proc';

// Section 8 (`floor`, issue 19): the least a change can cost Temporal in our design, none of our
// own work in it. A worker of its own (bench/floor-worker.ts, a process of its own) runs
// bench/floor-workflow.ts; the benchmark's process stands in for the outbox dispatcher and starts
// each change as it does for a client without a running workflow: signal-with-start, a new
// workflow id each. It does so at the latency run's rate and length, then waits until the
// visibility store counts every workflow completed. Two variants: both portals' first attempts
// as local activities that return at once, as clientSyncWorkflow runs them; and a bare workflow
// that finishes at once. CPU per change by process, net of the idle rate measured before (once
// both variants have warmed up: a worker just started is not idle yet).

const taskQueue = 'portal-sync-floor';
const variants = { localActivities: 'floorSyncWorkflow', bare: 'floorBareWorkflow' } as const;
type Variant = keyof typeof variants;
const idleSampleMs = 10_000;
/** Changes of each variant run before the idle rate is measured, unmeasured: the worker's first workflows compile the SDK's code. */
const warmUpSeconds = 5;
/** How often the benchmark asks whether every workflow has completed (a count of the visibility store). */
const pollMs = 1_000;
const completionTimeoutMs = 300_000;
const historySample = 3;

/** Per process; the client is the benchmark's own process, signalling as the dispatcher does. */
interface FloorCpu {
  temporal: number;
  worker: number;
  client: number;
}

export interface FloorRun {
  workflowType: string;
  changes: number;
  achievedRate: number;
  failed: number;
  /** From the first signal-with-start until every workflow was counted completed. */
  seconds: number;
  /** Milliseconds of CPU per change, net of the idle rate, and their sum. */
  cpuMsPerChange: FloorCpu & { total: number };
  /** The worker's CPU per change by thread name (not net of idle). */
  workerThreadsMsPerChange: Record<string, number>;
  /** CPU seconds over the run, before the idle rate comes off; `others`: every other process on the machine. */
  cpu: FloorCpu & { wallSeconds: number; service: number; postgres: number; others: number; loadAverage: number };
  history: ReturnType<typeof perChange>;
}

export interface FloorSection {
  rate: number;
  seconds: number;
  /** CPU seconds per second with nothing to do (the service's idle worker polls the same server). */
  idlePerSecond: FloorCpu;
  runs: Record<Variant, FloorRun>;
}

interface Snapshot extends ReturnType<typeof cpuSnapshot> {
  worker: number;
  workerThreads: Record<string, number>;
}

function snapshot(context: BenchContext, worker: StartedProcess): Snapshot {
  return { ...cpuSnapshot(context), worker: cpuSeconds(worker.pid), workerThreads: threadCpuSeconds(worker.pid) };
}

function floorCpu(after: Snapshot, before: Snapshot): FloorRun['cpu'] {
  const use = cpuDelta(after, before);
  const worker = after.worker - before.worker;
  return {
    wallSeconds: use.wallSeconds,
    temporal: use.temporal,
    worker: round(worker),
    client: use.bench,
    service: use.service,
    postgres: use.postgres,
    others: round(Math.max(0, use.others - worker)),
    loadAverage: use.loadAverage,
  };
}

async function completed(client: Client, workflowType: string): Promise<number> {
  const { count } = await client.workflow.count(`WorkflowType = '${workflowType}' AND ExecutionStatus = 'Completed'`);
  return count;
}

/** Signal-with-start of `changes` new workflows at `rate` a second; waits until all have completed. */
async function drive(client: Client, workflowType: string, idPrefix: string, changes: number, rate: number) {
  const before = await completed(client, workflowType);
  let failed = 0;
  const inFlight: Promise<unknown>[] = [];
  const start = Date.now();
  for (let index = 0; index < changes; index += 1) {
    const due = start + (index * 1000) / rate;
    if (due > Date.now()) await sleep(due - Date.now());
    const started = client.workflow.signalWithStart<typeof floorSyncWorkflow | typeof floorBareWorkflow, [RegistryChange]>(workflowType, {
      workflowId: `${idPrefix}-${index}`,
      taskQueue,
      signal: registryChangedSignal,
      signalArgs: [{ eventId: index, horizon: index }],
    });
    inFlight.push(started.catch(() => (failed += 1)));
  }
  await Promise.all(inFlight);
  const achievedRate = changes / ((Date.now() - start) / 1000);
  const deadline = Date.now() + completionTimeoutMs;
  for (;;) {
    const done = (await completed(client, workflowType)) - before;
    if (done >= changes - failed) break;
    if (Date.now() > deadline) throw new Error(`floor: ${done} of ${changes - failed} ${workflowType} runs completed after ${completionTimeoutMs / 1000} s`);
    await sleep(pollMs);
  }
  return { failed, achievedRate: round(achievedRate), seconds: round((Date.now() - start) / 1000) };
}

export async function floorSection(context: BenchContext, options: { rate: number; seconds: number }, log: (line: string) => void): Promise<FloorSection> {
  context.log('floor: starting its worker in a process of its own ...');
  const { process: worker } = await startNode<{ pid: number }>('floor-worker', 'bench/floor-worker.ts', [context.temporal.address, taskQueue], {}, log);
  try {
    const inTurn = Object.entries(variants) as [Variant, string][];
    context.log(`floor: warming up, then measuring the idle rate for ${idleSampleMs / 1000} s ...`);
    for (const [variant, workflowType] of inTurn) {
      await drive(context.temporal.client, workflowType, `floor-${variant}-warm-up`, Math.round(options.rate * warmUpSeconds), options.rate);
    }
    const idle0 = snapshot(context, worker);
    await sleep(idleSampleMs);
    const idle = floorCpu(snapshot(context, worker), idle0);
    const idlePerSecond = { temporal: idle.temporal / idle.wallSeconds, worker: idle.worker / idle.wallSeconds, client: idle.client / idle.wallSeconds };

    const changes = Math.round(options.rate * options.seconds);
    const runs: Partial<Record<Variant, FloorRun>> = {};
    for (const [variant, workflowType] of inTurn) {
      context.log(`floor: ${workflowType}, ${changes} changes at ${options.rate}/s ...`);
      const before = snapshot(context, worker);
      const run = await drive(context.temporal.client, workflowType, `floor-${variant}`, changes, options.rate);
      const after = snapshot(context, worker);
      const cpu = floorCpu(after, before);
      const done = changes - run.failed;
      const perChangeMs = (seconds: number) => round((seconds * 1000) / done);
      const net = (process: keyof FloorCpu) => perChangeMs(cpu[process] - idlePerSecond[process] * cpu.wallSeconds);
      const cpuMsPerChange = { temporal: net('temporal'), worker: net('worker'), client: net('client') };
      const sampled = Array.from({ length: historySample }, (_, i) => `floor-${variant}-${Math.floor(((i + 0.5) * changes) / historySample)}`);
      runs[variant] = {
        workflowType,
        changes,
        ...run,
        cpuMsPerChange: { ...cpuMsPerChange, total: round(cpuMsPerChange.temporal + cpuMsPerChange.worker + cpuMsPerChange.client) },
        workerThreadsMsPerChange: Object.fromEntries(
          Object.entries(after.workerThreads)
            .map(([name, seconds]) => [name, perChangeMs(seconds - (before.workerThreads[name] ?? 0))] as const)
            .filter(([, ms]) => ms > 0)
            .sort(([, a], [, b]) => b - a),
        ),
        cpu,
        history: perChange(await countHistories(context.temporal.client, sampled), 1),
      };
    }
    return {
      rate: options.rate,
      seconds: options.seconds,
      idlePerSecond: { temporal: round(idlePerSecond.temporal, 4), worker: round(idlePerSecond.worker, 4), client: round(idlePerSecond.client, 4) },
      runs: runs as Record<Variant, FloorRun>,
    };
  } finally {
    await worker.stop();
  }
}
