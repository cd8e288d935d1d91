import { readFileSync } from 'node:fs';
import path from 'node:path';

// Where a local run (`npm start`, `portal-sync start`) keeps its registry: an embedded PostgreSQL
// under DATA_DIR/postgres, on a port picked at start. PostgreSQL itself writes that port into
// DATA_DIR/postgres/postmaster.pid while it runs and removes the file when it stops, so the
// administrator's tools (`portal-sync tokens`, `migrate`) find the running registry there, with
// nothing of our own to keep up to date or to go stale.

/** The embedded PostgreSQL's data directory under DATA_DIR. */
export function embeddedPostgresDir(dataDir: string): string {
  return path.resolve(dataDir, 'postgres');
}

/** The registry database of the embedded PostgreSQL on `port` (its user and password are fixed: it listens on 127.0.0.1 only). */
export function embeddedPostgresUrl(port: number): string {
  return `postgres://postgres:postgres@127.0.0.1:${port}/portal_sync`;
}

export interface RunningEmbeddedPostgres {
  /** DATA_DIR, absolute. */
  dataDir: string;
  url: string;
  port: number;
  pid: number;
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user (the embedded PostgreSQL's own user, when started as root).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The embedded PostgreSQL of a local run under `dataDir`, if one runs now: postmaster.pid names its
 * process (line 1) and port (line 4). A file left behind by a PostgreSQL that was killed names a
 * process that is gone, and counts as none.
 */
export function runningEmbeddedPostgres(dataDir: string): RunningEmbeddedPostgres | undefined {
  let lines: string[];
  try {
    lines = readFileSync(path.join(embeddedPostgresDir(dataDir), 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0 || port > 65_535) return undefined;
  if (!processRuns(pid)) return undefined;
  return { dataDir: path.resolve(dataDir), url: embeddedPostgresUrl(port), port, pid };
}

/**
 * The DATA_DIRs where a local run may keep its data, in the order they are looked at: DATA_DIR when
 * it is set; otherwise `.data` here, then the `.data` of the checkout this CLI belongs to (where
 * `npm start` keeps it), so that a command typed in another directory still finds the running stack.
 */
export function localDataDirs(options: { dataDir?: string; cwd?: string; checkoutDir: string }): string[] {
  if (options.dataDir) return [path.resolve(options.cwd ?? process.cwd(), options.dataDir)];
  const here = path.resolve(options.cwd ?? process.cwd(), '.data');
  const checkout = path.resolve(options.checkoutDir, '.data');
  return here === checkout ? [here] : [here, checkout];
}

/** The first local run found under `dataDirs` whose embedded PostgreSQL runs. */
export function findRunningEmbeddedPostgres(dataDirs: readonly string[]): RunningEmbeddedPostgres | undefined {
  for (const dataDir of dataDirs) {
    const running = runningEmbeddedPostgres(dataDir);
    if (running) return running;
  }
  return undefined;
}
