import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db } from '../db';
import { isDeepStrictEqual } from 'node:util';
import { recordAuditEvent, requestAudit, rewriteAuditEvent, type AuditEventInput, type AuditRecordIds, type RequestAudit } from '../registry/audit-events';

// The audit (issue 18): every request a token makes that changes something lands in audit_events,
// recorded here for every route at once, so that a new route is covered without a line of its own.
//
// Recorded: every request other than GET, HEAD and OPTIONS made with a valid token that succeeded
// (2xx), and those refused for want of a role or of a second token (403: who tried what). Not
// recorded: reads; 401 (no valid token, so no name to record: the log has them); 400, 404, 409 and
// 422 (nothing changed). What is recorded names records and fields, never a value: the route's
// parameters (client number, record id, portal, token name), the ids a body names (clientNumber,
// contactId, contactIds, companies), the id of a record a POST made, and the names of the body's
// fields. A name, an address, an email or a BSN never reaches the table.
//
// A registry write records the row in its own transaction, so the change and its audit row commit
// together (RequestAudit, src/registry/audit-events.ts); any other request's row is written before
// the answer leaves (onSend). Either way a caller who has the answer finds it in GET /audit. A
// failure to write it is logged and does not change the answer: what was done is done.

/** Body keys whose values are record ids or client numbers, at any depth (master.clientNumber too). */
const idFields = new Set(['clientNumber', 'contactId', 'contactIds', 'companies']);

/** Route parameters by what they are, where the pattern's name does not say it. */
const parameterNames: Record<string, string> = { number: 'clientNumber', name: 'token' };

const maxFields = 200;
const maxDepth = 5;
const maxIdsPerField = 100;

const unaudited = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Per request: what its handler adds to its audit row, the id of the record a POST made, and the
 * fields as sent (before validation adds defaults: a field not sent was not changed).
 */
interface Note {
  recordIds: AuditRecordIds;
  answerId?: string;
  sentFields?: string[];
}
const notes = new WeakMap<FastifyRequest, Note>();
/** Per request: its audit as the registry write sees it (RequestAudit). */
const audits = new WeakMap<FastifyRequest, RequestAudit>();

function note(request: FastifyRequest, more: Partial<Note>): void {
  const previous = notes.get(request) ?? { recordIds: {} };
  notes.set(request, { ...previous, ...more, recordIds: { ...previous.recordIds, ...more.recordIds } });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * What an id looks like. A refused request's path parameters have not been validated (the role is
 * checked first): whatever was typed there in place of an id (an email address, a name with a
 * space) is left out rather than copied.
 */
const idPattern = /^[A-Za-z0-9._:-]{1,64}$/;

function singleId(value: unknown): string | undefined {
  const text = typeof value === 'number' ? String(value) : value;
  return typeof text === 'string' && idPattern.test(text) ? text : undefined;
}

function idValue(value: unknown): string | string[] | undefined {
  if (Array.isArray(value)) return value.slice(0, maxIdsPerField).flatMap((item) => singleId(item) ?? []);
  return singleId(value);
}

/** The body's field names, nested ones dotted (`links.caseware`); a list is one field. Never a value. */
export function fieldNames(body: unknown): string[] {
  const names: string[] = [];
  const walk = (value: Record<string, unknown>, prefix: string, depth: number) => {
    for (const [key, inner] of Object.entries(value)) {
      if (names.length >= maxFields) return;
      const name = `${prefix}${key}`;
      if (isPlainObject(inner) && Object.keys(inner).length > 0 && depth < maxDepth) walk(inner, `${name}.`, depth + 1);
      else names.push(name);
    }
  };
  if (isPlainObject(body)) walk(body, '', 1);
  return names;
}

/** The record ids a body names (`clientNumber`, `master.contactId`, `contactIds`, ...). */
export function bodyRecordIds(body: unknown): AuditRecordIds {
  const ids: AuditRecordIds = {};
  const walk = (value: Record<string, unknown>, prefix: string, depth: number) => {
    for (const [key, inner] of Object.entries(value)) {
      if (idFields.has(key)) {
        const id = idValue(inner);
        if (id !== undefined) ids[`${prefix}${key}`] = id;
      } else if (isPlainObject(inner) && depth < maxDepth) {
        walk(inner, `${prefix}${key}.`, depth + 1);
      }
    }
  };
  if (isPlainObject(body)) walk(body, '', 1);
  return ids;
}

/** For a route whose record is named by a field the audit does not read by itself (POST /tokens: the token's name). */
export function noteAuditRecordIds(request: FastifyRequest, recordIds: AuditRecordIds): void {
  note(request, { recordIds });
}

function audited(request: FastifyRequest, status: number): boolean {
  if (request.caller === null || unaudited.has(request.method) || request.routeOptions.url === undefined) return false;
  return (status >= 200 && status < 300) || status === 403;
}

function recordIdsOf(request: FastifyRequest): AuditRecordIds {
  const ids: AuditRecordIds = {};
  if (isPlainObject(request.params)) {
    for (const [key, value] of Object.entries(request.params)) {
      const id = idValue(value);
      if (id !== undefined) ids[parameterNames[key] ?? key] = id;
    }
  }
  const noted = notes.get(request);
  return { ...bodyRecordIds(request.body), ...(noted?.answerId === undefined ? {} : { id: noted.answerId }), ...noted?.recordIds, ...ids };
}

/**
 * The fields sent that the route's schema took: the names sent (a default the schema adds was not
 * sent), kept only where the validated body has them too (a lenient schema drops what it does not
 * know, which may be anything).
 */
function bodyFields(request: FastifyRequest): string[] {
  const sent = notes.get(request)?.sentFields ?? [];
  const taken = new Set(fieldNames(request.body));
  return sent.filter((name) => taken.has(name));
}

/** The query's parameter names, once validated (a 2xx): a refused request's query is as it was typed. */
function queryNames(request: FastifyRequest, status: number): string[] {
  if (status === 403 || !isPlainObject(request.query)) return [];
  return Object.keys(request.query).slice(0, maxFields).map((key) => `?${key}`);
}

/** Adds the hooks that record every change made through the API (server.ts, for every route). */
export function recordChanges(app: FastifyInstance, db: Db): void {
  // The body as sent, parsed and not yet validated.
  app.addHook('preValidation', (request, _reply, done) => {
    if (request.caller !== null && !unaudited.has(request.method)) note(request, { sentFields: fieldNames(request.body) });
    done();
  });

  // The record a POST made is in its answer (`id`), before it is turned into text.
  app.addHook('preSerialization', (request, reply, payload: unknown, done) => {
    if (request.method === 'POST' && audited(request, reply.statusCode) && isPlainObject(payload) && !request.routeOptions.url?.includes(':id')) {
      const id = idValue(payload.id);
      if (typeof id === 'string') note(request, { answerId: id });
    }
    done(null, payload);
  });

  // The registry write the handler makes records the row with it, as the request will have it
  // when it succeeds with the route's success status (RequestAudit); run() hands the handler the
  // request's audit.
  app.addHook('preHandler', (request, _reply, done) => {
    if (request.caller === null || unaudited.has(request.method)) return done();
    const status = successStatus(request);
    const audit: RequestAudit = { expected: () => (status === undefined ? undefined : auditEventOf(request, status)) };
    audits.set(request, audit);
    requestAudit.run(audit, done);
  });

  // A row written ahead stays whatever the answer: the change it records was made. It is put right
  // where the outcome differs from what was expected (an answer other than the route's success).
  app.addHook('onSend', async (request, reply, payload) => {
    const audit = audits.get(request);
    // Answered: a write that something of this request's still makes later is not this request's.
    if (audit) audit.expected = () => undefined;
    const written = audit?.written;
    if ((!written && !audited(request, reply.statusCode)) || request.caller === null) return payload;
    const event = auditEventOf(request, reply.statusCode);
    try {
      if (!written) await recordAuditEvent(db, event);
      else if (!isDeepStrictEqual(written.event, event)) await rewriteAuditEvent(db, written.id, event);
    } catch (error) {
      request.log.error({ err: error }, 'the audit could not record this request');
    }
    return payload;
  });
}

function auditEventOf(request: FastifyRequest, status: number): AuditEventInput {
  return {
    tokenName: request.caller?.name ?? '',
    method: request.method,
    route: request.routeOptions.url ?? request.url,
    status,
    recordIds: recordIdsOf(request),
    fields: [...bodyFields(request), ...queryNames(request, status)],
    requestId: request.id,
  };
}

/** The route's one success status (its response schema names one 2xx), or undefined. */
function successStatus(request: FastifyRequest): number | undefined {
  const responses = (request.routeOptions.schema as { response?: Record<string, unknown> } | undefined)?.response ?? {};
  const successes = Object.keys(responses).filter((code) => /^2\d\d$/.test(code));
  return successes.length === 1 ? Number(successes[0]) : undefined;
}
