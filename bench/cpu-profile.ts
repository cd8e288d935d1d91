import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';

// BENCH_CPU_PROFILE=<dir> (bench/service.ts): V8 CPU profiles of the service while it serves, to
// see where its CPU goes. `--cpu-prof` cannot be given through NODE_OPTIONS and would cover the
// start-up (bundling the workflows) too; this starts the profiler once the service serves and
// writes the profiles when it is stopped. The main thread and every worker thread (the Temporal
// SDK runs the workflows in one) get a profile each: `<dir>/service-<pid>-<thread>.cpuprofile`,
// which Chrome DevTools (Performance) or speedscope open.

/** Microseconds between samples: V8's default for `--cpu-prof`. */
const samplingIntervalUs = 1_000;

interface WorkerAttached {
  sessionId: string;
  workerInfo: { workerId: string; title: string };
}

/** Sends protocol commands to one worker thread through the main thread's session. */
class WorkerChannel {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(result: unknown): void; reject(error: Error): void }>();

  constructor(
    private readonly session: Session,
    readonly sessionId: string,
    readonly name: string,
  ) {}

  post(method: string, params: object = {}): Promise<unknown> {
    const id = this.nextId++;
    const answered = new Promise<unknown>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    void this.session
      .post('NodeWorker.sendMessageToWorker', { sessionId: this.sessionId, message: JSON.stringify({ id, method, params }) })
      .catch((error: unknown) => this.settle({ id, error: { message: String(error) } }));
    return answered;
  }

  settle(message: { id?: number; result?: unknown; error?: { message: string } }): void {
    const waiting = message.id === undefined ? undefined : this.pending.get(message.id);
    if (!waiting) return;
    this.pending.delete(message.id!);
    if (message.error) waiting.reject(new Error(message.error.message));
    else waiting.resolve(message.result);
  }
}

export interface CpuProfiler {
  /** Stops every profile and writes them; answers the files written. */
  stop(): Promise<string[]>;
}

/** Starts profiling this process's main thread and its worker threads (those running now and those started later). */
export async function startCpuProfiler(dir: string): Promise<CpuProfiler> {
  mkdirSync(dir, { recursive: true });
  const session = new Session();
  session.connect();
  const workers = new Map<string, WorkerChannel>();
  const started: Promise<unknown>[] = [];
  session.on('NodeWorker.attachedToWorker', ({ params }: { params: WorkerAttached }) => {
    const channel = new WorkerChannel(session, params.sessionId, `worker-${params.workerInfo.workerId}`);
    workers.set(params.sessionId, channel);
    started.push(
      channel
        .post('Profiler.enable')
        .then(() => channel.post('Profiler.setSamplingInterval', { interval: samplingIntervalUs }))
        .then(() => channel.post('Profiler.start')),
    );
  });
  session.on('NodeWorker.receivedMessageFromWorker', ({ params }: { params: { sessionId: string; message: string } }) => {
    workers.get(params.sessionId)?.settle(JSON.parse(params.message) as { id?: number });
  });
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
  await session.post('Profiler.start');
  await session.post('NodeWorker.enable', { waitForDebuggerOnStart: false });

  return {
    async stop() {
      const files: string[] = [];
      const write = (thread: string, profile: unknown) => {
        const file = path.join(dir, `service-${process.pid}-${thread}.cpuprofile`);
        writeFileSync(file, JSON.stringify(profile));
        files.push(file);
      };
      await Promise.allSettled(started);
      for (const channel of workers.values()) {
        const answer = (await channel.post('Profiler.stop').catch(() => undefined)) as { profile?: unknown } | undefined;
        if (answer?.profile) write(channel.name, answer.profile);
      }
      const { profile } = await session.post('Profiler.stop');
      write('main', profile);
      session.disconnect();
      return files;
    },
  };
}
