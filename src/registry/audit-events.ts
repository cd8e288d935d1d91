import { AsyncLocalStorage } from 'node:async_hooks';
import type { Db } from '../db';
import { columnsOf, fromRow, type RowOf } from '../db-rows';

// The audit (issue 18): what each token did, kept in audit_events without expiry. What goes in is
// decided in src/api/audit.ts (every change made through the API) and by `portal-sync tokens` on
// the database; here it is stored and read back. Record ids and field names only, never a value.

/** Record ids by what they are: `clientNumber`, `id` (the route's record), `contactIds`, `token`, ... */
export type AuditRecordIds = Record<string, string | string[]>;

export interface AuditEventInput {
  /** The token's name; `(database)` for `portal-sync tokens` working on the database itself. */
  tokenName: string;
  method: string;
  /** The route's pattern, e.g. /clients/:number. */
  route: string;
  status: number;
  recordIds: AuditRecordIds;
  /** The names of the fields sent (nested ones dotted), never their values. */
  fields: string[];
  requestId: string | null;
}

export interface AuditEvent extends AuditEventInput {
  id: number;
  at: Date;
}

/** The token name of changes made by `portal-sync tokens` on the database: parentheses, so no token can have it. */
export const databaseActor = '(database)';

export async function recordAuditEvent(db: Db, event: AuditEventInput): Promise<number> {
  const [row] = await db('audit_events').insert(auditRow(event)).returning<{ id: number }[]>('id');
  return Number(row?.id);
}

/** Puts right a row written ahead (see RequestAudit) that the request's outcome turned out to differ from. */
export async function rewriteAuditEvent(db: Db, id: number, event: AuditEventInput): Promise<void> {
  await db('audit_events').where({ id }).update(auditRow(event));
}

/**
 * PostgreSQL stores no NUL in text or jsonb, which a hostile body's key or query may carry: each
 * becomes U+FFFD (so that the row still shows something was there, and never names another record),
 * and the row, part of a registry write's transaction, can always be written.
 */
const storable = (text: string) => text.replaceAll('\u0000', '\uFFFD');
const withoutNul = (_key: string, value: unknown) => (typeof value === 'string' ? storable(value) : value);

function auditRow(event: AuditEventInput) {
  return {
    token_name: event.tokenName,
    method: event.method,
    route: event.route,
    status: event.status,
    record_ids: JSON.stringify(event.recordIds, withoutNul),
    fields: event.fields.map(storable),
    request_id: event.requestId,
  };
}

/**
 * The audit of the API request being handled, if it is audited: the registry write it makes
 * records its audit row in the write's own transaction (writeTransaction), so that a change and
 * its audit row commit together, in one commit. The request's hook (src/api/audit.ts) compares
 * the row with the request's outcome once the answer is ready, and puts right one that differs
 * (a second write, an answer other than the route's success, an id known only from the answer).
 */
export interface RequestAudit {
  /** The row as the request will have it when it succeeds; undefined when that cannot be known yet. */
  expected(): AuditEventInput | undefined;
  /** The row written ahead, once the write's transaction committed. */
  written?: { id: number; event: AuditEventInput };
}

export const requestAudit = new AsyncLocalStorage<RequestAudit>();

export interface AuditFilter {
  /** Only this token's. */
  token?: string;
  /** This route and the routes under it: `/clients` finds /clients/:number/contacts too. */
  route?: string;
  method?: string;
  /** Events that name this client: by number, as a master, or among an offboarding's companies. */
  clientNumber?: string;
  /** Events that name this record: the route's own (`id`), a contact, or a token by name. */
  recordId?: string;
  since?: Date;
  until?: Date;
  /** Paging: events older than this event id (the `next` of the previous page). */
  before?: number;
  limit: number;
}

const eventColumns = columnsOf<AuditEvent>(['id', 'at', 'tokenName', 'method', 'route', 'status', 'recordIds', 'fields', 'requestId']);

const likePrefix = (text: string) => `${text.replace(/[\\%_]/g, (character) => `\\${character}`)}/%`;

/**
 * The events that match, newest first, at most `limit`; `next` pages on (the id to pass as
 * `before`), null when there are no more. Containment on record_ids uses its GIN index.
 */
export async function listAuditEvents(db: Db, filter: AuditFilter): Promise<{ events: AuditEvent[]; next: number | null }> {
  const contains = (ids: AuditRecordIds) => JSON.stringify(ids);
  const rows = await db('audit_events')
    .modify((query) => {
      if (filter.token !== undefined) void query.where('token_name', filter.token);
      if (filter.method !== undefined) void query.where('method', filter.method);
      if (filter.route !== undefined) {
        const route = filter.route.replace(/\/+$/, '') || '/';
        void query.where((inner) => void inner.where('route', route).orWhere('route', 'like', likePrefix(route === '/' ? '' : route)));
      }
      if (filter.clientNumber !== undefined) {
        const number = filter.clientNumber;
        void query.where((inner) =>
          void inner
            .whereRaw('record_ids @> ?::jsonb', [contains({ clientNumber: number })])
            .orWhereRaw('record_ids @> ?::jsonb', [contains({ 'master.clientNumber': number })])
            .orWhereRaw('record_ids @> ?::jsonb', [contains({ companies: [number] })]),
        );
      }
      if (filter.recordId !== undefined) {
        const id = filter.recordId;
        void query.where((inner) =>
          void inner
            .whereRaw('record_ids @> ?::jsonb', [contains({ id })])
            .orWhereRaw('record_ids @> ?::jsonb', [contains({ contactId: id })])
            .orWhereRaw('record_ids @> ?::jsonb', [contains({ 'master.contactId': id })])
            .orWhereRaw('record_ids @> ?::jsonb', [contains({ contactIds: [id] })])
            .orWhereRaw('record_ids @> ?::jsonb', [contains({ token: id })]),
        );
      }
      if (filter.since !== undefined) void query.where('at', '>=', filter.since);
      if (filter.until !== undefined) void query.where('at', '<', filter.until);
      if (filter.before !== undefined) void query.where('id', '<', filter.before);
    })
    .orderBy('id', 'desc')
    .limit(filter.limit + 1)
    .select<RowOf<AuditEvent>[]>(eventColumns);
  const events = rows.slice(0, filter.limit).map((row) => fromRow(row));
  return { events, next: rows.length > filter.limit ? (events.at(-1)?.id ?? null) : null };
}

/** The newest event of a route that succeeded: who last did it, and when. */
export async function lastAuditEvent(db: Db, method: string, route: string): Promise<AuditEvent | undefined> {
  const row = await db('audit_events')
    .where({ method, route })
    .whereBetween('status', [200, 299])
    .orderBy('id', 'desc')
    .first<RowOf<AuditEvent> | undefined>(eventColumns);
  return row && fromRow(row);
}
