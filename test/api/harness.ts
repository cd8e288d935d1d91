import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { ErrorResponse } from '../../src/api/errors';
import type { OffboardingSettings } from '../../src/api/routes-offboardings';
import { buildApi } from '../../src/api/server';
import type { Db } from '../../src/db';
import type { Client, Contact } from '../../src/registry/schemas';
import type { ClientSyncStatus } from '../../src/registry/sync-status';
import type { Portal } from '../../src/sync/portal-names';
import type { SyncError } from '../../src/sync/sync-errors';
import type { PortalHealth } from '../../src/sync/health';
import { createTestDatabase, type TestDatabase } from '../support/db';

// Shared set-up for the API tests: a fresh database per test file and an API over it, called
// through fastify's inject (no port).

export const apiToken = 'test-token-5b0c7e2d';
export const authorization = `Bearer ${apiToken}`;

export interface ApiHarness {
  app: FastifyInstance;
  db: Db;
  /** A request with the right bearer token. */
  call(method: InjectOptions['method'], url: string, body?: unknown): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** `offboarding`: the offboarding settings (approval threshold and window) the API runs with; absent, it can only plan. */
export async function startApi(options: { logLines?: string[]; offboarding?: OffboardingSettings } = {}): Promise<ApiHarness> {
  const database: TestDatabase = await createTestDatabase();
  const logLines = options.logLines;
  const app = await buildApi({
    db: database.db,
    apiToken,
    offboarding: options.offboarding,
    logger: logLines ? { level: 'info', stream: { write: (line: string) => logLines.push(line) } } : false,
  });
  return {
    app,
    db: database.db,
    call: (method, url, body) =>
      app.inject({ method, url, headers: { authorization }, ...(body === undefined ? {} : { payload: body as object }) }),
    async close() {
      await app.close();
      await database.drop();
    },
  };
}

/** A record as it arrives over JSON: dates become ISO strings. */
export type Json<T> = T extends Date
  ? string
  : T extends (infer Item)[]
    ? Json<Item>[]
    : T extends object
      ? { [Key in keyof T]: Json<T[Key]> }
      : T;

export type ClientJson = Json<Client>;
export type ClientWithContactsJson = Json<Client & { contacts: Contact[] }>;
export type ContactJson = Json<Contact>;
export type SyncErrorsJson = {
  errors: Json<SyncError>[];
  total: number;
  portals: Json<Omit<PortalHealth, 'healthy'> & { portal: Portal }>[];
};
export type ClientSyncStatusJson = Json<ClientSyncStatus>;
export type ErrorJson = ErrorResponse;

export async function rowCount(db: Db, table: 'clients' | 'contacts' | 'outbox_events'): Promise<number> {
  const row = (await db(table).count<{ count: string }[]>({ count: '*' }))[0];
  return Number(row?.count ?? 0);
}

export async function registryCounts(db: Db): Promise<{ clients: number; contacts: number; outbox: number }> {
  return {
    clients: await rowCount(db, 'clients'),
    contacts: await rowCount(db, 'contacts'),
    outbox: await rowCount(db, 'outbox_events'),
  };
}

export interface OutboxRow {
  id: number;
  client_number: string;
  kind: string;
  record_type: string;
  record_id: number;
}

/** Outbox events with an id above `afterId`, oldest first. */
export async function outboxEventsAfter(db: Db, afterId: number): Promise<OutboxRow[]> {
  return db('outbox_events')
    .where('id', '>', afterId)
    .orderBy('id')
    .select<OutboxRow[]>('id', 'client_number', 'kind', 'record_type', 'record_id');
}

export async function newestOutboxId(db: Db): Promise<number> {
  const row = (await db('outbox_events').max<{ id: number | null }[]>({ id: 'id' }))[0];
  return row?.id ?? 0;
}

/** A company client created through the API; returns its id. */
export async function createCompany(
  api: ApiHarness,
  clientNumber: string,
  extra: Record<string, unknown> = {},
): Promise<number> {
  const response = await api.call('POST', '/clients', { clientNumber, kind: 'company', name: `Company ${clientNumber}`, ...extra });
  if (response.statusCode !== 201) throw new Error(`creating client ${clientNumber} answered ${response.statusCode}: ${response.body}`);
  return (response.json<{ id: number }>()).id;
}

export async function createContactAt(
  api: ApiHarness,
  clientNumber: string,
  body: Record<string, unknown> = {},
): Promise<number> {
  const response = await api.call('POST', `/clients/${clientNumber}/contacts`, body);
  if (response.statusCode !== 201) throw new Error(`creating a contact at ${clientNumber} answered ${response.statusCode}: ${response.body}`);
  return (response.json<{ id: number }>()).id;
}
