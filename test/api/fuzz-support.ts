import type { TestWorkflowEnvironment } from '@temporalio/testing';
import fc from 'fast-check';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import knex from 'knex';
import { errorResponseSchema } from '../../src/api/errors';
import { buildApi } from '../../src/api/server';
import type { Db } from '../../src/db';
import { ensureReconcileSchedule } from '../../src/reconcile-schedule';
import { createOffboarding, setOffboardingStatus } from '../../src/registry/offboardings';
import { createReconcileRun } from '../../src/registry/reconcile-runs';
import { recordPortalFailure } from '../../src/sync/health';
import { reportSyncErrors } from '../../src/sync/ledger';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { startTemporal } from '../support/temporal';

// What the property-based tests of the API (fuzz.test.ts) share: the routes as the API's own
// OpenAPI document lists them, arbitraries for hostile requests to each, an API over a seeded
// database with a real Temporal dev server, and a snapshot of every table to show that a refused
// request wrote nothing.

export const fuzzToken = 'fuzz-token-7d1c2b9e';

// ----- the routes ------------------------------------------------------------------------------

type JsonSchema = { [key: string]: unknown };

export interface Operation {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** As OpenAPI writes it: `/clients/{number}`. */
  path: string;
  pathParams: string[];
  query: { name: string; schema: JsonSchema }[];
  /** The JSON schema of the body, with its $refs resolved one level at a time by `propertyNames`. */
  body?: JsonSchema;
  /** The document's components, for $refs. */
  components: Record<string, JsonSchema>;
}

/** The OpenAPI document of an API that is never called: buildApi connects to nothing until a query runs. */
export async function apiDocument(): Promise<{ paths: Record<string, Record<string, JsonSchema>>; components?: { schemas?: Record<string, JsonSchema> } }> {
  const unconnected = knex({ client: 'pg', connection: 'postgres://127.0.0.1:1/none', pool: { min: 0, max: 1 } });
  const app = await buildApi({ db: unconnected, apiToken: fuzzToken });
  await app.ready();
  const document = app.swagger() as never;
  await app.close();
  await unconnected.destroy();
  return document;
}

/** Every documented operation, so that a route added later is fuzzed without a change here. */
export async function listOperations(): Promise<Operation[]> {
  const document = await apiDocument();
  const components = document.components?.schemas ?? {};
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, spec] of Object.entries(methods)) {
      const upper = method.toUpperCase();
      if (!['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(upper)) continue;
      const parameters = (spec.parameters ?? []) as { in: string; name: string; schema?: JsonSchema }[];
      const requestBody = spec.requestBody as { content?: Record<string, { schema?: JsonSchema }> } | undefined;
      operations.push({
        method: upper as Operation['method'],
        path,
        pathParams: [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]!),
        query: parameters.filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: p.schema ?? {} })),
        body: requestBody?.content?.['application/json']?.schema,
        components,
      });
    }
  }
  return operations;
}

function resolve(schema: JsonSchema, components: Record<string, JsonSchema>): JsonSchema {
  const ref = schema.$ref;
  if (typeof ref !== 'string') return schema;
  return components[ref.replace('#/components/schemas/', '')] ?? {};
}

/** The property names a body schema mentions, in any of its variants, with each one's schema. */
function properties(schema: JsonSchema, components: Record<string, JsonSchema>, depth = 0): Map<string, JsonSchema> {
  const found = new Map<string, JsonSchema>();
  if (depth > 4) return found;
  const resolved = resolve(schema, components);
  for (const [name, property] of Object.entries((resolved.properties ?? {}) as Record<string, JsonSchema>)) found.set(name, property);
  for (const key of ['oneOf', 'anyOf', 'allOf']) {
    for (const variant of (resolved[key] ?? []) as JsonSchema[]) {
      for (const [name, property] of properties(variant, components, depth + 1)) found.set(name, property);
    }
  }
  return found;
}

/** Values a schema names outright (enums, consts), which get a request past the first check. */
function namedValues(schema: JsonSchema, components: Record<string, JsonSchema>, depth = 0): unknown[] {
  if (depth > 4) return [];
  const resolved = resolve(schema, components);
  const values: unknown[] = [];
  if (Array.isArray(resolved.enum)) values.push(...resolved.enum);
  if ('const' in resolved) values.push(resolved.const);
  for (const key of ['oneOf', 'anyOf', 'allOf']) {
    for (const variant of (resolved[key] ?? []) as JsonSchema[]) values.push(...namedValues(variant, components, depth + 1));
  }
  return values;
}

// ----- hostile values --------------------------------------------------------------------------

const nastyStrings = [
  '', ' ', '\t', '\n', '\r\n', '\u0000', 'a\u0000b', '\uD800', 'x\uDFFFy', '\uFFFE', '\u202E', '💥', 'é', 'ß',
  '%', '%00', '%zz', '../', '..%2F', '/', '\\', "'", '"', "' or 1=1 --", '; drop table clients; --', '<script>',
  'null', 'true', 'false', 'undefined', '[]', '{}', '0', '-0', '-1', '1.5', '1e3', '1e400', '0x10', ' 1', '1 ',
  '+1', '٣', '9'.repeat(16), '9'.repeat(20), '18446744073709551616', '9223372036854775808', 'NaN', 'Infinity',
  '__proto__', 'constructor', 'prototype', 'toString', 'a'.repeat(101), 'a'.repeat(5_000), 'x@y', '@', 'a@b.c',
  '1001', '2001', 'caseware', 'clientOnline', 'client_online', 'running', 'completed', 'missing-email',
];

/** Code units nobody types: lone surrogates, controls, the NUL that PostgreSQL text cannot hold. */
const oddUnit = fc.oneof(
  fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit)),
  fc.integer({ min: 0, max: 0x1f }).map((unit) => String.fromCharCode(unit)),
  fc.constantFrom('\u0000', '\u007f', '\u00a0', '\u2028', '\ufeff'),
);

/** Ordinary text with one code unit in it that no storage or encoder should take as it is. */
const lacedString = fc
  .tuple(fc.string({ maxLength: 8 }), fc.constantFrom('\u0000', '\uD800', '\uDFFF', '\u0007', '\u001b'), fc.string({ maxLength: 8 }))
  .map(([before, odd, after]) => `${before}${odd}${after}`);

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...nastyStrings) },
  { weight: 2, arbitrary: lacedString },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: fc.oneof(fc.string({ minLength: 1, maxLength: 1 }), oddUnit), maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 180, maxLength: 400 }) },
);

const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, -1, 0.5, 1e21, 1e308, -1e308, 2 ** 31, 2 ** 53, 2 ** 53 + 2, 2 ** 63, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
);

const hostileKey = fc.oneof(hostileString, fc.constantFrom('__proto__', 'constructor', 'id', 'clientId', 'createdAt', 'deletedAt'));

export const hostileValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 4, arbitrary: hostileString },
    { weight: 2, arbitrary: hostileNumber },
    { weight: 1, arbitrary: fc.boolean() },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.array(tie('value'), { maxLength: 3 }) },
    { weight: 1, arbitrary: fc.dictionary(hostileKey, tie('value'), { maxKeys: 3 }) },
  ),
})).value;

// ----- requests --------------------------------------------------------------------------------

export interface FuzzRequest {
  method: Operation['method'];
  url: string;
  headers: Record<string, string>;
  /** Raw text: what a client sends, not necessarily JSON. */
  payload?: string;
  /** What the payload is, when it is JSON (for the test's own bookkeeping). */
  json?: unknown;
}

/** Ids that exist in the seeded database, so that some requests get past "not found". */
export interface KnownIds {
  [pathParam: string]: string[];
}

/**
 * Percent-encodes like encodeURIComponent, but a lone surrogate (which encodeURIComponent refuses)
 * becomes the three bytes a careless encoder would send for it: not valid UTF-8.
 */
export function percentEncode(value: string): string {
  let encoded = '';
  for (let index = 0; index < value.length; index += 1) {
    const code = value.charCodeAt(index);
    const next = value.charCodeAt(index + 1);
    if (code >= 0xd800 && code < 0xdc00 && next >= 0xdc00 && next < 0xe000) {
      encoded += encodeURIComponent(value.slice(index, index + 2));
      index += 1;
    } else if (code >= 0xd800 && code < 0xe000) {
      encoded += [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)].map((byte) => `%${byte.toString(16).toUpperCase()}`).join('');
    } else {
      encoded += encodeURIComponent(value[index]!);
    }
  }
  return encoded;
}

const rawSegments = ['%', '%zz', '%00', '%2F', '%2e%2e', '..', '.', '%E0%A4%A', '%C0%AF', '+', '%20', '1%00', '1;2', '1,2', '(1)'];

function segmentArbitrary(name: string, known: KnownIds): fc.Arbitrary<string> {
  const existing = known[name] ?? [];
  return fc.oneof(
    { weight: 2, arbitrary: existing.length > 0 ? fc.constantFrom(...existing) : fc.constant('1') },
    { weight: 4, arbitrary: hostileString.filter((value) => value !== '').map(percentEncode) },
    { weight: 1, arbitrary: fc.constantFrom(...rawSegments) },
  );
}

function queryArbitrary(operation: Operation): fc.Arbitrary<string> {
  const names = operation.query.map((param) => param.name);
  const valueFor = (name: string) => {
    const named = operation.query.find((param) => param.name === name);
    const values = named ? namedValues(named.schema, operation.components).map(String) : [];
    return values.length > 0 ? fc.oneof(fc.constantFrom(...values), hostileString) : hostileString;
  };
  const pair = fc.oneof(
    ...(names.length > 0
      ? [{ weight: 4, arbitrary: fc.constantFrom(...names).chain((name) => fc.tuple(fc.constant(name), valueFor(name))) }]
      : []),
    { weight: 1, arbitrary: fc.tuple(hostileString, hostileString) },
  );
  const encoded = fc
    .array(pair, { maxLength: 5 })
    .map((pairs) => pairs.map(([key, value]) => `${percentEncode(key)}=${percentEncode(value)}`).join('&'));
  const raw = fc.constantFrom('&&', '=', '==x', 'a[b]=1', 'a[]=1&a[]=2', '%', '%zz=1', 'limit=1&limit=2', 'portal[0]=caseware', 'force');
  return fc.oneof({ weight: 4, arbitrary: encoded }, { weight: 1, arbitrary: raw });
}

/** Valid bodies where the test knows them, per `METHOD /path`: mutated, they give requests that are almost right. */
export type ValidBodies = Record<string, fc.Arbitrary<unknown>>;

function leafPaths(value: unknown, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const entries = Object.entries(value as Record<string, unknown>);
  return [prefix, ...entries.flatMap(([key, inner]) => leafPaths(inner, [...prefix, key]))];
}

function setAt(value: unknown, path: string[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path as [string, ...string[]];
  const copy: Record<string, unknown> = Array.isArray(value) ? ([...value] as never) : { ...(value as Record<string, unknown>) };
  copy[head] = setAt(copy[head], rest, replacement);
  return copy;
}

function deleteAt(value: unknown, path: string[]): unknown {
  if (path.length === 0) return undefined;
  if (path.length === 1) {
    const { [path[0]!]: _dropped, ...rest } = value as Record<string, unknown>;
    return rest;
  }
  const [head, ...rest] = path as [string, ...string[]];
  return { ...(value as Record<string, unknown>), [head]: deleteAt((value as Record<string, unknown>)[head], rest) };
}

function valueAt(value: unknown, path: string[]): unknown {
  return path.reduce<unknown>((inner, key) => (inner !== null && typeof inner === 'object' ? (inner as Record<string, unknown>)[key] : undefined), value);
}

const textInPlaceOfText: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: lacedString },
  { weight: 3, arbitrary: fc.constantFrom(...nastyStrings) },
  { weight: 2, arbitrary: hostileString },
  { weight: 1, arbitrary: hostileValue },
);

function mutated(valid: unknown): fc.Arbitrary<unknown> {
  const paths = leafPaths(valid).filter((path) => path.length > 0);
  if (paths.length === 0) return fc.constant(valid);
  const pick = fc.constantFrom(...paths);
  return fc.oneof(
    // Mostly hostile text in place of a text: the field is right, its content is not.
    pick.chain((path) => (typeof valueAt(valid, path) === 'string' ? textInPlaceOfText : hostileValue).map((replacement) => setAt(valid, path, replacement))),
    pick.map((path) => deleteAt(valid, path)),
    fc.tuple(hostileKey, hostileValue).map(([key, extra]) => ({ ...(valid as object), [key]: extra })),
  );
}

function bodyArbitrary(operation: Operation, valid: fc.Arbitrary<unknown> | undefined): fc.Arbitrary<unknown> {
  const known = operation.body ? properties(operation.body, operation.components) : new Map<string, JsonSchema>();
  const names = [...known.keys()];
  const valueFor = (name: string) => {
    const values = namedValues(known.get(name) ?? {}, operation.components);
    return values.length > 0 ? fc.oneof(fc.constantFrom(...values), hostileValue) : hostileValue;
  };
  const shaped =
    names.length > 0
      ? fc
          .uniqueArray(fc.constantFrom(...names), { maxLength: names.length })
          .chain((keys) => fc.tuple(...keys.map((key) => valueFor(key).map((value) => [key, value] as const))))
          .map((pairs) => Object.fromEntries(pairs))
      : fc.dictionary(hostileKey, hostileValue, { maxKeys: 3 });
  return fc.oneof(
    { weight: 2, arbitrary: hostileValue },
    { weight: 3, arbitrary: shaped },
    ...(valid ? [{ weight: 4, arbitrary: valid.chain(mutated) }] : []),
  );
}

const contentTypes = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/merge-patch+json',
  '',
];

const rawPayloads = ['', '{', '}', '[', 'nul', '{"a":', '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{}}}', '\u0000', '"\\u0000"', '\uFEFF{}', '{}garbage', '1e99999', '[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]'];

const authorizations = ['', 'Bearer', 'Bearer ', `Bearer ${fuzzToken}x`, `bearer ${fuzzToken}`, `Basic ${fuzzToken}`, `Bearer  ${fuzzToken}`, 'Bearer \u0000'];

/** One hostile request to `operation`. */
export function requestArbitrary(operation: Operation, known: KnownIds, validBodies: ValidBodies): fc.Arbitrary<FuzzRequest> {
  const key = `${operation.method} ${operation.path}`;
  const segments = fc.tuple(...operation.pathParams.map((name) => segmentArbitrary(name, known)));
  const path = segments.map((values) =>
    operation.pathParams.reduce((url, name, index) => url.replace(`{${name}}`, values[index]!), operation.path),
  );
  const query = fc.option(queryArbitrary(operation), { freq: 2 });
  const authorization = fc.oneof({ weight: 12, arbitrary: fc.constant(`Bearer ${fuzzToken}`) }, { weight: 1, arbitrary: fc.constantFrom(...authorizations) });
  const jsonBody = bodyArbitrary(operation, validBodies[key]).map((json) => ({
    payload: JSON.stringify(json) ?? 'null',
    json,
    contentType: 'application/json',
  }));
  const rawBody = fc.record({
    payload: fc.oneof(fc.constantFrom(...rawPayloads), fc.string({ unit: 'binary', maxLength: 60 })),
    json: fc.constant(undefined),
    contentType: fc.constantFrom(...contentTypes),
  });
  const wrongType = fc.record({
    payload: hostileValue.map((value) => JSON.stringify(value) ?? 'null'),
    json: fc.constant(undefined),
    contentType: fc.constantFrom(...contentTypes.filter((type) => !type.startsWith('application/json'))),
  });
  const noBody = fc.constant({ payload: undefined, json: undefined, contentType: '' });
  const body =
    operation.body !== undefined
      ? fc.oneof({ weight: 6, arbitrary: jsonBody }, { weight: 1, arbitrary: rawBody }, { weight: 1, arbitrary: wrongType }, { weight: 1, arbitrary: noBody })
      : fc.oneof({ weight: 4, arbitrary: noBody }, { weight: 1, arbitrary: jsonBody }, { weight: 1, arbitrary: rawBody });
  return fc.record({ path, query, authorization, body }).map(({ path: url, query: search, authorization: auth, body: sent }) => {
    const headers: Record<string, string> = {};
    if (auth !== '') headers.authorization = auth;
    if (sent.payload !== undefined && sent.contentType !== '') headers['content-type'] = sent.contentType;
    return {
      method: operation.method,
      url: search === null ? url : `${url}?${search}`,
      headers,
      ...(sent.payload === undefined ? {} : { payload: sent.payload }),
      ...(sent.json === undefined ? {} : { json: sent.json }),
    };
  });
}

// ----- the API under test ----------------------------------------------------------------------

export interface FuzzApi {
  app: FastifyInstance;
  db: Db;
  temporal: TestWorkflowEnvironment;
  known: KnownIds;
  send(request: FuzzRequest): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/**
 * The API with Temporal (a dev server; no worker, so no workflow it starts ever writes to the
 * database), over a database seeded with clients, contacts, a master link, sync errors, an
 * unhealthy portal, offboardings and reconcile runs.
 */
export async function startFuzzApi(): Promise<FuzzApi> {
  const [database, temporal]: [TestDatabase, TestWorkflowEnvironment] = await Promise.all([createTestDatabase(), startTemporal()]);
  const taskQueue = 'fuzz-no-worker';
  await ensureReconcileSchedule(temporal.client, { taskQueue });
  const app = await buildApi({
    db: database.db,
    apiToken: fuzzToken,
    offboarding: { temporal: temporal.client, taskQueue, approvalThreshold: 1 },
    reconcile: { temporal: temporal.client, taskQueue },
  });
  const send = (request: FuzzRequest) =>
    app.inject({ method: request.method, url: request.url, headers: request.headers, ...(request.payload === undefined ? {} : { payload: request.payload }) } as InjectOptions);
  const call = async (method: FuzzRequest['method'], url: string, body?: unknown) => {
    const response = await send({
      method,
      url,
      headers: { authorization: `Bearer ${fuzzToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    if (response.statusCode >= 300) throw new Error(`seeding: ${method} ${url} answered ${response.statusCode}: ${response.body}`);
    return response.json<{ id: number }>();
  };

  const both = { caseware: true, clientOnline: true };
  await call('POST', '/clients', { clientNumber: '2001', kind: 'person', name: 'P. Persoon', firstName: 'Piet', email: 'p@home.test', links: both });
  await call('POST', '/clients', { clientNumber: '1001', kind: 'company', name: 'Alfa B.V.', links: both });
  await call('POST', '/clients', { clientNumber: '1002', kind: 'company', name: 'Beta B.V.', links: both });
  const follower = await call('POST', '/clients/1001/contacts', { email: 'p@alfa.test', links: both, master: { clientNumber: '2001' } });
  const plain = await call('POST', '/clients/1001/contacts', { email: 'q@alfa.test', firstName: 'Quinten', links: both });
  const other = await call('POST', '/clients/1002/contacts', { email: 'r@beta.test', links: { caseware: true, clientOnline: false } });
  await reportSyncErrors(database.db, 'caseware', '1002', [
    { recordType: 'contact', recordId: other.id, code: 'missing-email', message: `contact ${other.id} at client 1002 has no email address` },
  ]);
  await recordPortalFailure(database.db, 'client_online', { code: 'unauthorized', message: 'Client Online refused the API key' });
  // Offboardings whose workflows never started: steering them meets Temporal's "not found", and a
  // finished one the registry's own refusal.
  const unstarted = await createOffboarding(database.db, {
    request: { kind: 'revoke-contact-access', contactId: plain.id },
    reason: 'fuzz',
    requestedBy: 'test',
    approvalThreshold: 1,
  });
  const finished = await createOffboarding(database.db, {
    request: { kind: 'client-leaves', clientNumber: '1002' },
    requestedBy: 'test',
    approvalThreshold: 1,
  });
  await setOffboardingStatus(database.db, finished.id, 'cancelled', { cancelledBy: 'test' });
  const run = await createReconcileRun(database.db, { workflowId: 'reconcile-fuzz-seed', dryRun: true });

  return {
    app,
    db: database.db,
    temporal,
    known: {
      number: ['1001', '1002', '2001'],
      id: [String(follower.id), String(plain.id), String(other.id), String(unstarted.id), String(finished.id), String(run.id)],
    },
    send,
    async close() {
      await app.close();
      await temporal.teardown();
      await database.drop();
    },
  };
}

/**
 * Every row of every table (but the migrations', and the audit's 403s), in a stable order, read in
 * one statement: equal snapshots, nothing written.
 */
export async function snapshot(db: Db): Promise<Record<string, unknown[]>> {
  const { rows } = await db.raw<{ rows: { tablename: string }[] }>(
    "select tablename from pg_tables where schemaname = 'public' and tablename not like 'knex_migrations%' order by tablename",
  );
  // The audit records a refusal for want of a role or a second token (403) by design (docs/api.md,
  // "Audit"): those rows are no write of a refused request.
  const only = (table: string) => (table === 'audit_events' ? ' where row.status <> 403' : '');
  const columns = rows.map(({ tablename }) => `(select coalesce(json_agg(row order by row::text), '[]') from "${tablename}" row${only(tablename)}) as "${tablename}"`);
  const result = await db.raw<{ rows: Record<string, unknown[]>[] }>(`select ${columns.join(', ')}`);
  return result.rows[0] ?? {};
}

/** What an answer must be, whatever was sent: never a 5xx; a refusal is the API's JSON error with a message. */
export function refusalProblem(response: LightMyRequestResponse): string | undefined {
  if (response.statusCode >= 500) return `answered ${response.statusCode}: ${response.body.slice(0, 500)}`;
  if (response.statusCode < 400) return undefined;
  if (!String(response.headers['content-type'] ?? '').startsWith('application/json')) {
    return `a ${response.statusCode} with content type ${String(response.headers['content-type'])}`;
  }
  let json: unknown;
  try {
    json = JSON.parse(response.body);
  } catch {
    return `a ${response.statusCode} whose body is not JSON: ${response.body.slice(0, 200)}`;
  }
  const parsed = errorResponseSchema.safeParse(json);
  if (!parsed.success) return `a ${response.statusCode} whose body is not the API's error shape: ${response.body.slice(0, 300)}`;
  const { message } = parsed.data.error;
  if (message.trim().length < 5 || /\[object |received NaN/.test(message)) return `a ${response.statusCode} with an unclear message: ${message}`;
  return undefined;
}

/** A request as a failure report shows it. */
export function describeRequest(request: FuzzRequest): string {
  return JSON.stringify({ method: request.method, url: request.url, headers: request.headers, payload: request.payload });
}
