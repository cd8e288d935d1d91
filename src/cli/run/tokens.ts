import { ApiTokenError, createApiToken, listApiTokens, revokeApiToken, type ApiTokenInfo, type Role } from '../../api/tokens';
import type { Config } from '../../config';
import { connectDatabase, type Db } from '../../db';
import { migrationSource } from '../../../migrations';
import { CliError, exitCodes } from '../exit-codes';
import { table, when } from '../format';
import { createOutput } from '../output';
import { loadCliConfig, probeDatabase, processLogger, Stops } from '../process';
import { runningLocalStackDatabase, sayLocalStackDatabase, searchedDataDirs } from './local-database';

// `portal-sync tokens`: on the database itself, as an administrator's tool, like `migrate`. Whoever
// may run it holds DATABASE_URL, which is more than any token gives.

/**
 * The registry database to work on: DATABASE_URL, or the one of the local stack running on this
 * machine (said on stderr). Never one of its own: a database started here would be another,
 * empty registry, whose tokens the running API would never know.
 */
function registryDatabaseUrl(config: Config): string {
  if (config.DATABASE_URL) return config.DATABASE_URL;
  const local = runningLocalStackDatabase();
  if (local) {
    sayLocalStackDatabase('tokens', local);
    return local.url;
  }
  throw new CliError(
    exitCodes.unavailable,
    `no registry database to work on: DATABASE_URL is not set, and no local stack is running under ${searchedDataDirs()}. ` +
      'Start it (`npm start`) or set DATABASE_URL; `portal-sync tokens` never starts a database of its own.',
  );
}

/** Runs `work` on the registry database, refusing one that lacks migrations. */
async function onDatabase<T>(work: (db: Db) => Promise<T>): Promise<T> {
  const config = loadCliConfig();
  const stops = new Stops(processLogger(config, true));
  try {
    const url = registryDatabaseUrl(config);
    await probeDatabase(url);
    const db = connectDatabase(url);
    stops.push(() => db.destroy());
    const [, pending] = (await db.migrate.list({ migrationSource })) as [unknown[], unknown[]];
    if (pending.length > 0) throw new CliError(exitCodes.usage, `the database lacks ${pending.length} of its migrations: run \`portal-sync migrate\` first`);
    return await work(db);
  } catch (error) {
    if (error instanceof ApiTokenError) throw new CliError(error.code === 'not-found' ? exitCodes.notFound : exitCodes.usage, error.message);
    throw error;
  } finally {
    await stops.run();
  }
}

const at = (date: Date | null) => when(date?.toISOString());

export async function createToken(options: { name: string; role: Role; json?: boolean }): Promise<void> {
  const out = createOutput(options);
  const { token, secret } = await onDatabase((db) => createApiToken(db, options));
  out.result({ name: token.name, role: token.role, createdAt: token.createdAt, secret }, (value) => [
    `Token "${value.name}" made, with the ${value.role} role. Its secret, shown this once (only a hash of it is kept):`,
    '',
    `  ${value.secret}`,
    '',
    'Send it as `Authorization: Bearer <secret>`, or give it to the CLI as API_TOKEN or --token.',
  ]);
}

export async function listTokens(options: { includeRevoked?: boolean; json?: boolean }): Promise<void> {
  const out = createOutput(options);
  const tokens = await onDatabase((db) => listApiTokens(db, { includeRevoked: options.includeRevoked === true }));
  out.result(tokens, (list: ApiTokenInfo[]) =>
    list.length === 0
      ? ['No tokens yet (the built-in API_TOKEN aside). Make one with `portal-sync tokens create --name <name> --role <role>`.']
      : table(
          ['name', 'role', 'created', 'last used', ...(options.includeRevoked ? ['revoked'] : [])],
          list.map((token) => [token.name, token.role, at(token.createdAt), at(token.lastUsedAt), ...(options.includeRevoked ? [at(token.revokedAt)] : [])]),
          '',
        ),
  );
}

export async function revokeToken(name: string, options: { json?: boolean }): Promise<void> {
  const out = createOutput(options);
  const token = await onDatabase((db) => revokeApiToken(db, name));
  out.result(token, (value) => [`Token "${value.name}" (${value.role}) revoked: the API refuses it from now on.`]);
}
