import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Db } from '../db';
import { columnsOf, fromRow, type RowOf } from '../db-rows';

// API tokens with names and roles (issue 12), kept in the api_tokens table. The table holds a
// SHA-256 hash of each secret, never the secret: a token is 32 random bytes, so a fast hash is
// enough, and looking a presented token up by its hash in a unique index takes the same time
// whatever it is. A token with the admin role manages them through the API (/tokens,
// src/api/routes-tokens.ts; the console's Tokens page); `portal-sync tokens` through the API or on
// the database itself (src/cli/run/tokens.ts).

/**
 * viewer reads; registry writes the registry (the CRM); operator offboards, resyncs, runs the
 * reconcile, holds portals; admin manages the tokens and reads the audit (issue 18).
 */
export const roles = ['viewer', 'registry', 'operator', 'admin'] as const;
export type Role = (typeof roles)[number];

/** The name the configured or generated API token (API_TOKEN, DATA_DIR/api-token) goes by. */
export const builtInTokenName = 'api';

export const tokenNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'a token name is 1 to 63 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit')
  .refine((name) => name !== builtInTokenName, `"${builtInTokenName}" is the name of the built-in API token (API_TOKEN); choose another`);

export interface ApiTokenInfo {
  name: string;
  role: Role;
  createdAt: Date;
  /** To the minute: a token's use is noted at most once a minute. */
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** A token that may be used: what a request made with it is allowed to do. */
export interface ActiveToken {
  id: number;
  name: string;
  role: Role;
  lastUsedAt: Date | null;
}

/** A refusal of `portal-sync tokens` or /tokens: a name in use (409), or no such token (404). */
export class ApiTokenError extends Error {
  constructor(
    readonly code: 'conflict' | 'not-found',
    message: string,
  ) {
    super(message);
    this.name = 'ApiTokenError';
  }
}

const infoColumns = columnsOf<ApiTokenInfo>(['name', 'role', 'createdAt', 'lastUsedAt', 'revokedAt']);
const activeColumns = columnsOf<ActiveToken>(['id', 'name', 'role', 'lastUsedAt']);

export function hashToken(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** A new secret. The prefix lets secret scanners (and people) tell a portal-sync token when they see one. */
function newSecret(): string {
  return `pst_${randomBytes(32).toString('base64url')}`;
}

/** Makes a token; the secret is in the answer only, never stored. */
export async function createApiToken(db: Db, input: { name: string; role: Role }): Promise<{ token: ApiTokenInfo; secret: string }> {
  const name = tokenNameSchema.parse(input.name);
  const secret = newSecret();
  try {
    const [row] = await db('api_tokens')
      .insert({ name, role: input.role, token_hash: hashToken(secret) })
      .returning<RowOf<ApiTokenInfo>[]>(infoColumns);
    if (!row) throw new Error('inserting a token returned no row');
    return { token: fromRow(row), secret };
  } catch (error) {
    if ((error as { code?: unknown }).code === '23505') {
      throw new ApiTokenError('conflict', `a token named "${name}" exists already; revoke it first, or choose another name`);
    }
    throw error;
  }
}

/** Tokens by name; revoked ones only when asked for. */
export async function listApiTokens(db: Db, options: { includeRevoked?: boolean } = {}): Promise<ApiTokenInfo[]> {
  const rows = await db('api_tokens')
    .modify((query) => {
      if (!options.includeRevoked) void query.whereNull('revoked_at');
    })
    .orderBy([{ column: 'name' }, { column: 'created_at' }])
    .select<RowOf<ApiTokenInfo>[]>(infoColumns);
  return rows.map((row) => fromRow(row));
}

/** Revokes the token of that name: the next request made with it is refused. */
export async function revokeApiToken(db: Db, name: string): Promise<ApiTokenInfo> {
  const [row] = await db('api_tokens')
    .where({ name })
    .whereNull('revoked_at')
    .update({ revoked_at: db.fn.now() })
    .returning<RowOf<ApiTokenInfo>[]>(infoColumns);
  if (!row) throw new ApiTokenError('not-found', `there is no token named "${name}" that is not revoked (\`portal-sync tokens list\` shows them)`);
  return fromRow(row);
}

/** The token whose secret this is, unless there is none or it is revoked. One indexed query, no cache: a revoke counts at once. */
export async function findActiveToken(db: Db, secret: string): Promise<ActiveToken | undefined> {
  const row = await db('api_tokens')
    .where({ token_hash: hashToken(secret) })
    .whereNull('revoked_at')
    .first<RowOf<ActiveToken> | undefined>(activeColumns);
  return row && fromRow(row);
}

/** The token with this id, unless it is revoked: what a codec session (src/api/routes-codec.ts) was signed in with. */
export async function findActiveTokenById(db: Db, id: number): Promise<ActiveToken | undefined> {
  const row = await db('api_tokens').where({ id }).whereNull('revoked_at').first<RowOf<ActiveToken> | undefined>(activeColumns);
  return row && fromRow(row);
}

const useNotedEveryMs = 60_000;

/** Notes that a token was used; at most once a minute, so that busy tokens do not write on every request. */
export async function noteTokenUse(db: Db, token: ActiveToken, now = new Date()): Promise<void> {
  if (token.lastUsedAt && now.getTime() - token.lastUsedAt.getTime() < useNotedEveryMs) return;
  await db('api_tokens').where({ id: token.id }).update({ last_used_at: db.fn.now() });
}
