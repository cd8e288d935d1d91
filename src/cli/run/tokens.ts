import { ApiTokenError, createApiToken, listApiTokens, revokeApiToken, type ApiTokenInfo, type Role } from '../../api/tokens';
import { connectDatabase, type Db } from '../../db';
import { startEmbeddedPostgres } from '../../dev/local-infra';
import { migrationSource } from '../../../migrations';
import { CliError, exitCodes } from '../exit-codes';
import { table, when } from '../format';
import { createOutput } from '../output';
import { loadCliConfig, probeDatabase, processLogger, startFailure, Stops } from '../process';

// `portal-sync tokens`: on the database itself, as an administrator's tool, like `migrate`. Whoever
// may run it holds DATABASE_URL, which is more than any token gives.

/** Runs `work` on DATABASE_URL (or the local embedded PostgreSQL), refusing a database that lacks migrations. */
async function onDatabase<T>(work: (db: Db) => Promise<T>): Promise<T> {
  const config = loadCliConfig();
  const stops = new Stops(processLogger(config, true));
  try {
    let url = config.DATABASE_URL;
    if (!url) {
      const postgres = await startEmbeddedPostgres(config.DATA_DIR).catch((error: unknown) => {
        throw startFailure('the embedded PostgreSQL (DATA_DIR; while `portal-sync start` runs, set DATABASE_URL instead)', error);
      });
      stops.push(() => postgres.stop());
      url = postgres.url;
    }
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
