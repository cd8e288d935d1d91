import { ApiTokenError, createApiToken, listApiTokens, revokeApiToken, type ApiTokenInfo, type Role } from '../../api/tokens';
import type { Config } from '../../config';
import { connectDatabase, type Db } from '../../db';
import { databaseActor, recordAuditEvent, type AuditEventInput } from '../../registry/audit-events';
import { migrationSource } from '../../../migrations';
import { defaultApiUrl, PortalSyncApi, type Wire } from '../api-client';
import { CliError, exitCodes } from '../exit-codes';
import { table, localDateTime } from '../format';
import { createOutput } from '../output';
import { loadCliConfig, probeDatabase, processLogger, ShutdownSteps } from '../process';
import { runningLocalStackDatabase, sayLocalStackDatabase, searchedDataDirs } from './local-database';

// `portal-sync tokens`: on the database itself, as an administrator's tool, like `migrate` (whoever
// may run it so holds DATABASE_URL, which is more than any token gives); or, given --api-url or
// --token, through the API with a token that has the admin role (/tokens), as the console does.

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
  const stops = new ShutdownSteps(processLogger(config, true));
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
    await stops.stopAll();
  }
}

const at = (date: Date | null) => localDateTime(date?.toISOString());

/**
 * A change made on the database lands in the audit as the same change through the API would, under
 * the name `(database)`: whoever holds DATABASE_URL, which no token names.
 */
async function recordOnDatabase(db: Db, change: Pick<AuditEventInput, 'method' | 'route' | 'status' | 'recordIds' | 'fields'>): Promise<void> {
  await recordAuditEvent(db, { ...change, tokenName: databaseActor, requestId: null });
}

/** How the command reaches the tokens: `--api-url` or `--token` given, through the API (with a token that has the admin role). */
export interface TokenCommandOptions {
  apiUrl?: string;
  token?: string;
  json?: boolean;
}

type WireToken = Wire<ApiTokenInfo>;

const fromWire = (token: WireToken): ApiTokenInfo => ({
  name: token.name,
  role: token.role,
  createdAt: new Date(token.createdAt),
  lastUsedAt: token.lastUsedAt === null ? null : new Date(token.lastUsedAt),
  revokedAt: token.revokedAt === null ? null : new Date(token.revokedAt),
});

/** The API, when the command was given where it is or a token for it; else undefined: the database. */
function throughApi(options: TokenCommandOptions, env: NodeJS.ProcessEnv = process.env): PortalSyncApi | undefined {
  if (options.apiUrl === undefined && options.token === undefined) return undefined;
  return new PortalSyncApi({ apiUrl: options.apiUrl ?? env.PORTAL_SYNC_API_URL ?? defaultApiUrl, token: options.token ?? env.API_TOKEN }, env);
}

export async function createToken(options: TokenCommandOptions & { name: string; role: Role }): Promise<void> {
  const out = createOutput(options);
  const api = throughApi(options);
  const { token, secret } = api
    ? await api.post<WireToken & { secret: string }>('/tokens', { name: options.name, role: options.role }).then((made) => ({ token: fromWire(made), secret: made.secret }))
    : await onDatabase(async (db) => {
        const made = await createApiToken(db, options);
        await recordOnDatabase(db, { method: 'POST', route: '/tokens', status: 201, recordIds: { token: made.token.name }, fields: ['name', 'role'] });
        return made;
      });
  out.result({ name: token.name, role: token.role, createdAt: token.createdAt, secret }, (value) => [
    `Token "${value.name}" made, with the ${value.role} role. Its secret, shown this once (only a hash of it is kept):`,
    '',
    `  ${value.secret}`,
    '',
    'Send it as `Authorization: Bearer <secret>`, or give it to the CLI as API_TOKEN or --token.',
  ]);
}

export async function listTokens(options: TokenCommandOptions & { includeRevoked?: boolean }): Promise<void> {
  const out = createOutput(options);
  const includeRevoked = options.includeRevoked === true;
  const api = throughApi(options);
  const tokens = api
    ? (await api.get<WireToken[]>('/tokens', includeRevoked ? { includeRevoked } : {})).map(fromWire)
    : await onDatabase((db) => listApiTokens(db, { includeRevoked }));
  out.result(tokens, (list: ApiTokenInfo[]) =>
    list.length === 0
      ? ['No tokens yet (the built-in API_TOKEN aside). Make one with `portal-sync tokens create --name <name> --role <role>`.']
      : table(
          ['name', 'role', 'created', 'last used', ...(includeRevoked ? ['revoked'] : [])],
          list.map((token) => [token.name, token.role, at(token.createdAt), at(token.lastUsedAt), ...(includeRevoked ? [at(token.revokedAt)] : [])]),
          '',
        ),
  );
}

export async function revokeToken(name: string, options: TokenCommandOptions): Promise<void> {
  const out = createOutput(options);
  const api = throughApi(options);
  const token = api
    ? fromWire(await api.delete<WireToken>(`/tokens/${encodeURIComponent(name)}`))
    : await onDatabase(async (db) => {
        const revoked = await revokeApiToken(db, name);
        await recordOnDatabase(db, { method: 'DELETE', route: '/tokens/:name', status: 200, recordIds: { token: revoked.name }, fields: [] });
        return revoked;
      });
  out.result(token, (value) => [`Token "${value.name}" (${value.role}) revoked: the API refuses it from now on.`]);
}
