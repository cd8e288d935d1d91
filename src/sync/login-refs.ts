import type { Db } from '../db';
import type { ClientOnlineUser } from '../domain/client-online';
import type { ExistingLogin } from '../domain/login-adoption';
import type { CoClient } from '../portals/client-online/api';

/**
 * The Client Online logins of persons (migrations/20261204000020_client_online_logins.ts): which
 * ref each person's login has, what the portal's logins were by username at the last bulk read, and
 * the users a client held before portal-sync first pushed it, which it keeps.
 */

export interface PersonLogin {
  ref: string;
  origin: 'created' | 'adopted';
}

/** The logins of these persons that portal-sync has met (created or adopted), by person key. */
export async function personLogins(db: Db, personKeys: readonly string[]): Promise<Map<string, PersonLogin>> {
  if (personKeys.length === 0) return new Map();
  const rows = await db('client_online_logins')
    .whereIn('person_key', [...new Set(personKeys)])
    .select<{ person_key: string; ref: string; origin: PersonLogin['origin'] }[]>('person_key', 'ref', 'origin');
  return new Map(rows.map((row) => [row.person_key, { ref: row.ref, origin: row.origin }]));
}

/** The refs that differ from their person's key (adopted logins), for desiredClientOnlineState. */
export function adoptedRefs(logins: ReadonlyMap<string, PersonLogin>): Map<string, string> {
  return new Map([...logins].filter(([key, login]) => login.ref !== key).map(([key, login]) => [key, login.ref]));
}

/** The person whose login has this ref: the person it was adopted for, or the ref itself (a key). */
export async function personKeyOfRef(db: Db, ref: string): Promise<string> {
  const row = await db('client_online_logins').where({ ref }).first<{ person_key: string } | undefined>('person_key');
  return row?.person_key ?? ref;
}

/** Persons (among `refs`) whose logins these refs are: the person key of each ref that has one. */
export async function claimedRefs(db: Db, refs: readonly string[]): Promise<Map<string, string>> {
  if (refs.length === 0) return new Map();
  const rows = await db('client_online_logins').whereIn('ref', [...new Set(refs)]).select<{ person_key: string; ref: string }[]>('person_key', 'ref');
  return new Map(rows.map((row) => [row.ref, row.person_key]));
}

/**
 * Records the login of each person: `ref` for an adopted one, its own key for one created. A person
 * met already keeps what it has. Answers the persons whose ref another person holds already (one
 * login for two persons): those are not recorded.
 */
export async function recordPersonLogins(
  db: Db,
  logins: readonly { personKey: string; ref: string; origin: PersonLogin['origin'] }[],
): Promise<{ refused: string[] }> {
  const refused: string[] = [];
  for (const login of logins) {
    const inserted = await db.raw<{ rows: { person_key: string }[] }>(
      `insert into client_online_logins (person_key, ref, origin) values (?, ?, ?)
       on conflict do nothing returning person_key`,
      [login.personKey, login.ref, login.origin],
    );
    if (inserted.rows.length > 0) continue;
    const held = await db('client_online_logins').where({ person_key: login.personKey }).first<{ ref: string } | undefined>('ref');
    if (held?.ref !== login.ref) refused.push(login.personKey);
  }
  return { refused };
}

/**
 * Forgets logins recorded as created for these persons: the push that was to create them was
 * refused, so Client Online has none, and the persons are met again (looked for) next time.
 */
export async function forgetCreatedLogins(db: Db, personKeys: readonly string[]): Promise<void> {
  if (personKeys.length === 0) return;
  await db('client_online_logins').whereIn('person_key', [...personKeys]).where({ origin: 'created' }).whereRaw('ref = person_key').delete();
}

/** Replaces the directory with what a bulk read of every client found. */
export async function replaceDirectory(db: Db, clients: readonly CoClient[]): Promise<void> {
  const byRef = new Map<string, string>();
  for (const client of clients) for (const user of client.users) byRef.set(user.ref, user.email.trim().toLowerCase());
  await db.transaction(async (trx) => {
    await trx('client_online_directory').delete();
    const rows = [...byRef].map(([ref, username]) => ({ ref, username, read_at: trx.fn.now() }));
    for (let i = 0; i < rows.length; i += 1000) await trx('client_online_directory').insert(rows.slice(i, i + 1000));
  });
}

/** The logins the last bulk read found with one of these usernames. */
export async function directoryLogins(db: Db, usernames: readonly string[]): Promise<ExistingLogin[]> {
  if (usernames.length === 0) return [];
  const rows = await db('client_online_directory')
    .whereIn('username', [...new Set(usernames)])
    .select<{ ref: string; username: string }[]>('ref', 'username');
  return rows.map((row) => ({ ref: row.ref, email: row.username }));
}

/**
 * Of these refs, the logins Client Online holds nowhere, as far as portal-sync can tell: the last
 * bulk read (the directory) did not find them, no push that carried them was answered since that
 * read, and no push that may carry them is unanswered. A push carrying one makes it again, and
 * Client Online mails its person new credentials. `readBy`: when the bulk read was at the latest
 * (the repair it found), should the directory be empty and say nothing of when it was read.
 */
export async function loginsGone(db: Db, refs: readonly string[], readBy: Date): Promise<Set<string>> {
  if (refs.length === 0) return new Set();
  const result = await db.raw<{ rows: { ref: string }[] }>(
    `select wanted.ref
       from unnest(?::text[]) as wanted(ref)
      where not exists (select 1 from client_online_directory d where d.ref = wanted.ref)
        and not exists (
          select 1 from portal_identities i
           where i.portal = 'client_online' and i.record_type = 'client'
             and (coalesce(i.unconfirmed_refs, '[]'::jsonb) @> jsonb_build_array(wanted.ref)
                  or (i.access = 'active'
                      and i.synced_at > coalesce((select max(read_at) from client_online_directory), ?)
                      and coalesce(i.last_sent->'users', '[]'::jsonb) @> jsonb_build_array(jsonb_build_object('ref', wanted.ref)))))`,
    [[...new Set(refs)], readBy],
  );
  return new Set(result.rows.map((row) => row.ref));
}

/** The users kept in a client's pushes, as Client Online held them before portal-sync's first push. */
export async function keptUsers(db: Db, clientNumber: string): Promise<ClientOnlineUser[]> {
  const rows = await db('client_online_kept_users').where({ client_number: clientNumber }).orderBy('kept_at').orderBy('ref').select<{ user: ClientOnlineUser }[]>('user');
  return rows.map((row) => row.user);
}

/** Kept users of many clients at once (the reconcile's batches), by client number. */
export async function keptUsersOf(db: Db, clientNumbers: readonly string[]): Promise<Map<string, ClientOnlineUser[]>> {
  const kept = new Map<string, ClientOnlineUser[]>();
  if (clientNumbers.length === 0) return kept;
  const rows = await db('client_online_kept_users')
    .whereIn('client_number', [...clientNumbers])
    .orderBy('kept_at')
    .orderBy('ref')
    .select<{ client_number: string; user: ClientOnlineUser }[]>('client_number', 'user');
  for (const row of rows) kept.set(row.client_number, [...(kept.get(row.client_number) ?? []), row.user]);
  return kept;
}

/** Keeps these users in the client's pushes from now on. */
export async function keepUsers(db: Db, clientNumber: string, users: readonly ClientOnlineUser[]): Promise<void> {
  if (users.length === 0) return;
  await db('client_online_kept_users')
    .insert(users.map((user) => ({ client_number: clientNumber, ref: user.ref, user: JSON.stringify(user) })))
    .onConflict(['client_number', 'ref'])
    .ignore();
}

/** Lets the kept users of a client go (an operator asked): its next push leaves them out. */
export async function releaseKeptUsers(db: Db, clientNumber: string): Promise<number> {
  return db('client_online_kept_users').where({ client_number: clientNumber }).delete();
}
