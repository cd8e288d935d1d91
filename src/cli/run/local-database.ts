import path from 'node:path';
import { findRunningEmbeddedPostgres, localDataDirs, type RunningEmbeddedPostgres } from '../../dev/local-database';

// The administrator's commands that work on the database itself (`tokens`, `migrate`) without
// DATABASE_URL: the registry of the local stack that runs on this machine (src/dev/local-database.ts).

/** The checkout this CLI belongs to, where `npm start` keeps its `.data`. */
const checkoutDir = path.resolve(__dirname, '..', '..', '..');

/** Where the command looks for a running local stack: DATA_DIR when set, else `./.data` and the checkout's `.data`. */
export function dataDirsToSearch(env: NodeJS.ProcessEnv = process.env): string[] {
  return localDataDirs({ dataDir: env.DATA_DIR || undefined, checkoutDir });
}

/** The embedded PostgreSQL of the local stack running on this machine, if one runs. */
export function runningLocalStackDatabase(env: NodeJS.ProcessEnv = process.env): RunningEmbeddedPostgres | undefined {
  return findRunningEmbeddedPostgres(dataDirsToSearch(env));
}

/** The one line on stderr that says which database a command took, since nobody named one. */
export function sayLocalStackDatabase(command: string, database: RunningEmbeddedPostgres): void {
  process.stderr.write(
    `portal-sync ${command}: on the registry of the local stack running under ${database.dataDir} (its embedded PostgreSQL on 127.0.0.1:${database.port})\n`,
  );
}

/** Where a command looked, for its message when it found nothing. */
export function searchedDataDirs(env: NodeJS.ProcessEnv = process.env): string {
  return dataDirsToSearch(env).join(' or ');
}
