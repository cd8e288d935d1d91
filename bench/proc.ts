import { readdirSync, readFileSync } from 'node:fs';

// CPU and memory of processes, from /proc (Linux): what the benchmark reports per process.

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ); 100 on every Linux the project runs on. */
const ticksPerSecond = 100;

interface ProcStat {
  comm: string;
  ppid: number;
  /** CPU seconds the process itself used (user + system, all threads). */
  cpu: number;
  /** CPU seconds of its children that have ended and were waited for (cutime + cstime). */
  childrenCpu: number;
}

function readStat(pid: number, file = `/proc/${pid}/stat`): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may hold spaces; the fields after it are space-separated.
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  const field = (n: number) => Number(fields[n - 3]);
  return {
    comm: text.slice(open + 1, close),
    ppid: field(4),
    cpu: (field(14) + field(15)) / ticksPerSecond,
    childrenCpu: (field(16) + field(17)) / ticksPerSecond,
  };
}

/**
 * CPU seconds per thread of a process, summed by thread name (the main JavaScript thread is
 * `main`; Node names its worker threads, libuv's pool, V8's platform threads; the Temporal SDK's
 * Rust core runs in `tokio-runtime-w…` threads). Threads that ended are not counted.
 */
export function threadCpuSeconds(pid: number): Record<string, number> {
  const threads: Record<string, number> = {};
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return threads;
  }
  for (const tid of tids) {
    const stat = readStat(Number(tid), `/proc/${pid}/task/${tid}/stat`);
    if (!stat) continue;
    const name = Number(tid) === pid ? 'main' : stat.comm;
    threads[name] = (threads[name] ?? 0) + stat.cpu;
  }
  return threads;
}

/** CPU seconds used so far by one process (0 when it is gone). */
export function cpuSeconds(pid: number): number {
  return readStat(pid)?.cpu ?? 0;
}

export interface Memory {
  /** Resident set size now, in MiB. */
  rssMiB: number;
  /** The largest resident set size the process has had (VmHWM), in MiB. */
  peakRssMiB: number;
}

export function memory(pid: number): Memory | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return { rssMiB: kib('VmRSS') / 1024, peakRssMiB: kib('VmHWM') / 1024 };
}

/**
 * CPU seconds of the whole PostgreSQL server: every live `postgres` process, plus what the
 * postmaster's ended children used (backends of closed connections). The server is shared: other
 * databases' work on it counts too.
 */
export function postgresCpuSeconds(): number {
  const postgres: { pid: number; stat: ProcStat }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat?.comm === 'postgres') postgres.push({ pid: Number(entry), stat });
  }
  const pids = new Set(postgres.map((p) => p.pid));
  let total = 0;
  for (const { stat } of postgres) {
    total += stat.cpu;
    // The postmaster: the one whose parent is no postgres process.
    if (!pids.has(stat.ppid)) total += stat.childrenCpu;
  }
  return total;
}

/** CPU seconds the whole machine has been busy (every core: /proc/stat, not idle and not waiting for I/O). */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const [, ...fields] = line.trim().split(/\s+/);
  const ticks = fields.map(Number);
  const total = ticks.slice(0, 8).reduce((sum, n) => sum + n, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return (total - idle) / ticksPerSecond;
}
