import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { afterEach, describe, expect, test } from 'vitest';
import { createLogger } from '../../src/logging';
import type { ReceivedRequest } from '../../src/simulators/server';
import { EncryptionCodec, encryptedEncoding, encryptionKeyFromBase64, type EncryptionKey } from '../../src/temporal/encryption-codec';
import { loggingTemporalRuntime } from '../support/runtime';
import { startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/temporal';

// Issue 12: what leaves the registry. A varied run over real servers (registry API, outbox,
// Temporal, both portal simulators over HTTP): person clients with BSNs and private data, companies
// with contacts, followers of masters, master edits, sync errors, a portal outage, a reconcile and
// offboardings. Then everything the run left behind outside the registry is exported:
//   - every workflow history (every run on the server, raw and with every payload decoded), every
//     search attribute and memo, every schedule;
//   - every log line the worker, the dispatcher and the API wrote (the SDK's lines included);
//   - every error and operator message in the database (sync errors, outbox, offboardings, reconcile),
//     and the API's /metrics;
//   - every request body each portal simulator received.
// The personal values searched for are read back from the registry itself (every string field of
// every client and contact, followers' inherited values included), so the scan cannot pass by
// leaving a value out; the secrets are the known values this stack is configured with.

const lines: string[] = [];
const log = createLogger('debug', { write: (line: string) => void lines.push(line) });
// The SDK's own lines (activity failures, workflow logs) go through the same logger, as in src/local-stack.ts.
loggingTemporalRuntime(log);

const secrets = {
  casewareClientId: 'cw-client-Q7xK2vB9',
  casewareClientSecret: 'cw-secret-Zp9mW4tRv8Lq',
  clientOnlineApiKey: 'co-api-key-Lm3Nq8Ys5Wd',
  apiToken: 'api-token-Hb6Jd1Xc0Fe7Gk2Tn',
};

let stack: TestStack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
  lines.length = 0;
});

describe('nothing personal, and no secret, leaves the registry where it should not', () => {
  test('the default configuration: no BSN anywhere', async () => {
    stack = await startTestStack({ log, secrets, recordRequests: true });
    await scenario(stack);
    await expectNothingLeaks(stack, { sendBsn: false });
  }, 300_000);

  test('BSN on and payload encryption on: the BSN only in its own person client push to Client Online; failures encrypted', async () => {
    const key = encryptionKeyFromBase64('2026-12', randomBytes(32).toString('base64'));
    stack = await startTestStack({ log, secrets, recordRequests: true, clientOnlineSendBsn: true, encryptionKey: key });
    await scenario(stack);
    await expectFailuresEncrypted(stack, key);
    await expectNothingLeaks(stack, { sendBsn: true, key });
  }, 300_000);
});

// ----- the run ----------------------------------------------------------------------------------

const both = { caseware: true, clientOnline: true };
const numbers = { A: '8101', B: '8102', P: '8103', Q: '8104' };

async function scenario(s: TestStack): Promise<void> {
  const ok = async (method: string, path: string, body?: unknown): Promise<any> => {
    const response = await s.api(method, path, body);
    expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
    return response.body;
  };
  await ok('POST', '/clients', {
    clientNumber: numbers.A, kind: 'company', name: 'Grondverzet Hoekstra B.V.', address: 'Industrieweg 300', postcode: '4231 BX',
    city: 'Giessenburg', phone: '0184-661122', email: 'info@hoekstra-grond.test', website: 'https://hoekstra-grond.test',
    facebook: 'hoekstragrondfb', twitter: 'hoekstragrond', linkedin: 'https://linkedin.test/hoekstragrond', links: both,
  });
  await ok('POST', '/clients', {
    clientNumber: numbers.B, kind: 'company', name: 'Kaasmakerij Oudeland V.O.F.', address: 'Polderdijk 12', postcode: '2811 KL',
    city: 'Reeuwijk', email: 'kaas@oudeland.test', links: both,
  });
  await ok('POST', '/clients', {
    clientNumber: numbers.P, kind: 'person', name: 'W. ter Zwanikken', firstName: 'Wendelmoet', infix: 'ter', lastName: 'Zwanikken',
    initials: 'W.Q.', bsn: '174623895', email: 'w.zwanikken@kantoorpost.test', phone: '0348-551234',
    residentialStreet: 'Lijsterbeslaan 42', residentialPostcode: '3421 QX', residentialCity: 'Oudewater',
    correspondenceStreet: 'Postbus 9876', correspondencePostcode: '3420 ZZ', correspondenceCity: 'Montfoort',
    privateEmail: 'wendelmoet@prive.test', privateMobile: '06-98761234', correspondenceEmailPreference: 'private', links: both,
  });
  await ok('POST', '/clients', {
    clientNumber: numbers.Q, kind: 'person', name: 'H. Vlaskamp', firstName: 'Hieronymus', lastName: 'Vlaskamp', initials: 'H.',
    bsn: '238471650', residentialStreet: 'Zeeltstraat 19', residentialPostcode: '5211 AB', residentialCity: 'Zeerijp',
    privateEmail: 'hieronymus@thuis.test', privateMobile: '06-44412345', correspondenceEmailPreference: 'private', links: both,
  });
  const contact = (client: string, body: object) => ok('POST', `/clients/${client}/contacts`, { links: both, ...body });
  const c1 = await contact(numbers.A, {
    firstName: 'Barendina', lastName: 'Kuipersma', initials: 'B.', email: 'barendina@hoekstra-grond.test', phone: '030-6661111',
    mobile: '06-31415926', privateEmail: 'barendina@eigenadres.test', privateMobile: '06-77712345', bsn: '312548679',
    residentialStreet: 'Goudvinkweg 3', residentialPostcode: '4233 ER', residentialCity: 'Ameide',
  });
  // Sync errors: a contact without email, two contacts sharing one.
  await contact(numbers.A, { firstName: 'Gijsbertus', lastName: 'Lommerse', mobile: '06-12121212' });
  await contact(numbers.A, { firstName: 'Aaltje', lastName: 'Roozendaal', email: 'administratie@hoekstra-grond.test' });
  await contact(numbers.A, { firstName: 'Berendje', lastName: 'Wolthuis', email: 'administratie@hoekstra-grond.test', privateMobile: '06-90909090' });
  // Followers of the person clients, and a master contact with a follower.
  await contact(numbers.A, { master: { clientNumber: numbers.P }, email: 'w.zwanikken@hoekstra-grond.test' });
  await contact(numbers.B, { master: { clientNumber: numbers.P }, email: 'wendelmoet@oudeland.test' });
  await contact(numbers.A, { master: { clientNumber: numbers.Q }, email: 'h.vlaskamp@hoekstra-grond.test', mobile: '06-24242424' });
  const m = await contact(numbers.B, {
    firstName: 'Theodora', lastName: 'Brinkhorst', email: 'theodora@oudeland.test', privateEmail: 'theodora@huize-brinkhorst.test',
    correspondenceEmailPreference: 'private', residentialStreet: 'Merelhof 7', residentialCity: 'Bodegraven',
  });
  await ok('POST', `/clients/${numbers.A}/contacts`, { master: { contactId: m.id }, email: 'theodora@hoekstra-grond.test', links: { caseware: true } });
  // Another client's contact with c1's address: CaseWare's login and Client Online's username are taken.
  await contact(numbers.B, { firstName: 'Jorrit', lastName: 'Mulderij', email: 'barendina@hoekstra-grond.test', mobile: '06-56565656' });
  const all = Object.values(numbers);
  for (const n of all) await s.settled(n, { timeoutMs: 60_000 });

  // CaseWare Cloud fails for a while: the entity update is retried, and its failure kept in history.
  await setFaults(s.simulator.origin, { errorRate: 1 });
  await ok('PATCH', `/clients/${numbers.A}`, { city: 'Giessenburg-Noord' });
  await waitFor('a failed CaseWare attempt of client 8101', async () => {
    const description = await s.temporal.client.workflow.getHandle(`client-${numbers.A}`).describe();
    return (description.raw.pendingActivities ?? []).some((activity) => (activity.attempt ?? 0) >= 2);
  }, { timeoutMs: 30_000 });
  await setFaults(s.simulator.origin, {});

  // Master edits reach the followers through master propagations.
  await ok('PATCH', `/clients/${numbers.P}`, { lastName: 'Zwanikken-Oortwijn', residentialCity: 'Haastrecht', privateMobile: '06-55501234' });
  await ok('PATCH', `/contacts/${m.id}`, { lastName: 'Brinkhorst-Velders' });
  await waitFor("the followers to take the masters' edits", async () => {
    const names = await s.database.db('contacts').whereNotNull('master_client_id').orWhereNotNull('master_contact_id').pluck('last_name');
    return names.filter((name) => name === 'Zwanikken-Oortwijn').length === 2 && names.includes('Brinkhorst-Velders');
  });
  await ok('PATCH', `/contacts/${c1.id}`, { mobile: '06-31415927' });
  for (const n of all) await s.settled(n, { timeoutMs: 60_000 });

  // The reconcile (with a little drift to repair), then offboardings.
  await fetch(`${s.clientOnline.origin}/api/v1/clients/${numbers.B}`, { method: 'DELETE', headers: { 'x-api-key': secrets.clientOnlineApiKey } });
  const run = await ok('POST', '/reconcile', { wait: true });
  expect(run.status).toBe('completed');
  for (const request of [
    { kind: 'revoke-contact-access', contactId: c1.id, reason: 'Barendina Kuipersma is bij Hoekstra vertrokken' },
    { kind: 'person-deceased', clientNumber: numbers.Q, reason: 'Hieronymus Vlaskamp is overleden; bericht van zijn zoon' },
  ]) {
    const started = await ok('POST', '/offboardings', { ...request, execute: true });
    await waitFor(`offboarding ${started.id} to complete`, async () => (await s.api('GET', `/offboardings/${started.id}`)).body?.status === 'completed', {
      timeoutMs: 90_000,
    });
  }
  for (const n of all) await s.settled(n, { timeoutMs: 60_000 });
}

async function setFaults(origin: string, settings: object): Promise<void> {
  const response = await fetch(`${origin}/_sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(settings) });
  expect(response.status).toBe(204);
}

// ----- the export -------------------------------------------------------------------------------

interface Exported {
  /** Where it came from, for the failure message. */
  source: string;
  text: string;
}

interface Export {
  /** Histories (raw and decoded), search attributes, memos, schedules. */
  temporal: Exported[];
  logs: Exported[];
  /** Error and operator messages kept in the database. */
  messages: Exported[];
  caseware: ReceivedRequest[];
  clientOnline: ReceivedRequest[];
}

async function exportEverything(s: TestStack, key?: EncryptionKey): Promise<Export> {
  const codec = key && new EncryptionCodec(key);
  const client = s.encryptingClient ?? s.temporal.client;
  const temporalTexts: Exported[] = [];
  for (const run of await allRuns(s.temporal.client)) {
    const source = `workflow ${run.workflowId} (run ${run.runId})`;
    temporalTexts.push({ source: `${source}, its id, search attributes and memo`, text: [run.workflowId, json(run.searchAttributes), json(run.typedSearchAttributes), json(run.memo)].join('\n') });
    const history = await s.temporal.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    temporalTexts.push({ source: `${source}, its raw history`, text: historyText(history) });
    if (codec) temporalTexts.push({ source: `${source}, its decoded history`, text: historyText(await decodeHistory(history, codec)) });
  }
  for await (const schedule of client.schedule.list()) {
    const description = await client.schedule.getHandle(schedule.scheduleId).describe();
    temporalTexts.push({ source: `schedule ${schedule.scheduleId}`, text: json(description) });
  }

  const db = s.database.db;
  const messages: Exported[] = [];
  const keep = (source: string, values: unknown[]) => messages.push(...values.filter((v) => v !== null).map((v) => ({ source, text: typeof v === 'string' ? v : json(v) })));
  keep('sync_errors.message', await db('sync_errors').pluck('message'));
  keep('outbox_events.last_error', await db('outbox_events').pluck('last_error'));
  keep('offboardings.failure', await db('offboardings').pluck('failure'));
  keep('offboarding_steps.summary', await db('offboarding_steps').pluck('summary'));
  keep('reconcile_repairs.message', await db('reconcile_repairs').pluck('message'));
  keep('reconcile_runs.report', await db('reconcile_runs').pluck('report'));

  // The API's Prometheus text: counts and codes only.
  messages.push({ source: 'GET /metrics', text: await (await fetch(`${s.services.apiUrl}/metrics`)).text() });

  const received = async (origin: string) => (await (await fetch(`${origin}/_sim/requests`)).json()) as ReceivedRequest[];
  return {
    temporal: temporalTexts,
    logs: lines.map((line, index) => ({ source: `log line ${index + 1}`, text: line })),
    messages,
    caseware: await received(s.simulator.origin),
    clientOnline: await received(s.clientOnline.origin),
  };
}

interface Run {
  workflowId: string;
  runId: string;
  searchAttributes: unknown;
  typedSearchAttributes: unknown;
  memo: unknown;
}

/** Every run, open or closed, of every workflow on the server. */
async function allRuns(client: Client): Promise<Run[]> {
  const runs: Run[] = [];
  for await (const info of client.workflow.list()) {
    runs.push({ workflowId: info.workflowId, runId: info.runId, searchAttributes: info.searchAttributes, typedSearchAttributes: info.typedSearchAttributes, memo: info.memo });
  }
  return runs;
}

type History = temporal.api.history.v1.IHistory;

/** The history as JSON, followed by the text of every payload in it (payloads are base64). */
function historyText(history: History): string {
  const text = historyToJSON(history);
  const decoded = [...text.matchAll(/"data":\s*"([A-Za-z0-9+/=]+)"/g)].map((match) => Buffer.from(match[1]!, 'base64').toString('utf8'));
  return [text, ...decoded].join('\n');
}

function isEncrypted(value: object): value is Payload {
  const encoding = (value as Payload).metadata?.encoding;
  return encoding !== undefined && encoding !== null && Buffer.from(encoding).toString('utf8') === encryptedEncoding;
}

/** A copy of the history with every encrypted payload (failures' encoded attributes included) decrypted. */
async function decodeHistory(history: History, codec: EncryptionCodec): Promise<History> {
  const visit = async (value: unknown): Promise<unknown> => {
    if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value;
    if (Array.isArray(value)) return Promise.all(value.map(visit));
    if ('metadata' in value && 'data' in value && isEncrypted(value)) return (await codec.decode([value]))[0];
    const copy: Record<string, unknown> = {};
    for (const [field, inner] of Object.entries(value)) copy[field] = await visit(inner);
    return copy;
  };
  return temporal.api.history.v1.History.fromObject((await visit(temporal.api.history.v1.History.toObject(temporal.api.history.v1.History.fromObject(history)))) as object);
}

/** Where in the history a payload is not encrypted, e.g. `events.4.activityTaskScheduledEventAttributes.input.payloads.0`. */
function plainPayloads(history: History): string[] {
  const found: string[] = [];
  const visit = (value: unknown, path: string): void => {
    if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return;
    if ('metadata' in value && 'data' in value && !isEncrypted(value)) found.push(path);
    for (const [field, inner] of Object.entries(value)) visit(inner, path ? `${path}.${field}` : field);
  };
  visit(history, '');
  return found;
}

function json(value: unknown): string {
  return JSON.stringify(value ?? null, (_key, inner: unknown) => (typeof inner === 'bigint' ? String(inner) : inner));
}

// ----- what is personal -------------------------------------------------------------------------

/** Columns that hold no personal data: codes, numbers, kinds. */
const notPersonal = new Set(['client_number', 'kind', 'status', 'correspondence_email_preference']);
/** Private data: what only the portal that should have it gets (domain.md, "Personal data"). */
const privateColumn = /^(bsn|private_email|private_mobile|residential_.*|correspondence_(street|postcode|city|country))$/;
/** Values this short (an infix, initials) occur in ordinary words; every longer one is searched for. */
const minimumLength = 5;

interface PersonalValue {
  value: string;
  column: string;
  /** The record types and ids that hold it. */
  holders: { table: 'clients' | 'contacts'; id: number; clientNumber: string; personClient: boolean }[];
}

/** Every string value of every client and contact in the registry (deleted contacts too). */
async function personalValues(s: TestStack): Promise<PersonalValue[]> {
  const db = s.database.db;
  const clients: Record<string, unknown>[] = await db('clients').select('*');
  const contacts: Record<string, unknown>[] = await db('contacts').join('clients', 'clients.id', 'contacts.client_id').select('contacts.*', 'clients.client_number');
  const found = new Map<string, PersonalValue>();
  const add = (table: 'clients' | 'contacts', row: Record<string, unknown>, personClient: boolean) => {
    for (const [column, value] of Object.entries(row)) {
      if (typeof value !== 'string' || notPersonal.has(column) || value.length < minimumLength) continue;
      const id = `${column}\u0000${value.toLowerCase()}`;
      const entry = found.get(id) ?? { value, column, holders: [] };
      entry.holders.push({ table, id: Number(row.id), clientNumber: String(row.client_number), personClient });
      found.set(id, entry);
    }
  };
  for (const row of clients) add('clients', row, row.kind === 'person');
  for (const row of contacts) add('contacts', row, false);
  return [...found.values()];
}

/**
 * The clients whose Client Online push may carry a person's private data: his own client (a person
 * client's, a contact's company) and every company where a follower of his is a contact.
 */
async function clientsSeeingPrivateDataOf(s: TestStack, holder: PersonalValue['holders'][number]): Promise<Set<string>> {
  const db = s.database.db;
  const followersAt = await db('contacts')
    .join('clients', 'clients.id', 'contacts.client_id')
    .where(holder.table === 'clients' ? { master_client_id: holder.id } : { master_contact_id: holder.id })
    .pluck('clients.client_number');
  return new Set([holder.clientNumber, ...followersAt]);
}

// ----- the assertions ---------------------------------------------------------------------------

const emailPattern = /[a-z0-9._%+-]+@[a-z0-9.-]+\.test/g;

async function expectNothingLeaks(s: TestStack, options: { sendBsn: boolean; key?: EncryptionKey }): Promise<void> {
  const exported = await exportEverything(s, options.key);
  const values = await personalValues(s);
  const secretValues = [...Object.values(secrets), ...(options.key ? [options.key.key.toString('base64')] : [])];

  // The scan is not empty by construction: it has what the run made, and reads inside the payloads.
  expect(values.length).toBeGreaterThan(60);
  expect(values.filter((v) => v.column === 'bsn').map((v) => v.value).sort()).toEqual(['174623895', '238471650', '312548679']);
  const temporalText = exported.temporal.map((e) => e.text).join('\n');
  expect(temporalText).toContain('"clientNumber":"8103"');
  expect(exported.logs.length).toBeGreaterThan(20);
  expect(exported.logs.some((line) => line.text.includes('"component":"api"'))).toBe(true);
  expect(exported.logs.some((line) => line.text.includes('"component":"temporal"'))).toBe(true);
  expect(exported.messages.filter((m) => m.source === 'sync_errors.message').map((m) => m.text).join('\n')).toMatch(/already the username of another Client Online login/);
  expect(exported.caseware.length).toBeGreaterThan(10);
  expect(exported.clientOnline.length).toBeGreaterThan(10);

  // Histories, search attributes, schedules, logs and messages: no personal value, no email, no secret.
  const leaks: string[] = [];
  for (const { source, text } of [...exported.temporal, ...exported.logs, ...exported.messages]) {
    const lower = text.toLowerCase();
    for (const { value, column } of values) if (lower.includes(value.toLowerCase())) leaks.push(`${source} holds ${column} "${value}"`);
    for (const email of lower.match(emailPattern) ?? []) leaks.push(`${source} holds an email address "${email}"`);
    for (const secret of secretValues) if (text.includes(secret)) leaks.push(`${source} holds a secret "${secret}"`);
  }

  // CaseWare Cloud: no person client at all, no private data of anyone, the secret only to get a token.
  for (const request of exported.caseware) {
    const text = json(request);
    const lower = text.toLowerCase();
    const where = `CaseWare ${request.method} ${request.path}`;
    for (const { value, column, holders } of values) {
      if (!lower.includes(value.toLowerCase())) continue;
      // A follower contact carries its master's name as a contact's name; nothing else of a person client goes.
      const personClientOnly = holders.every((h) => h.personClient) && !/^(first_name|last_name|infix|initials)$/.test(column);
      if (privateColumn.test(column) || personClientOnly) leaks.push(`${where} holds ${column} "${value}"`);
    }
    const entityNo = (request.body as { EntityNo?: unknown } | null)?.EntityNo;
    if (entityNo === numbers.P || entityNo === numbers.Q) leaks.push(`${where} sends person client ${String(entityNo)}`);
    for (const secret of secretValues) {
      const tokenRequest = request.method === 'POST' && request.path === '/auth/token';
      if (text.includes(secret) && !(tokenRequest && (secret === secrets.casewareClientId || secret === secrets.casewareClientSecret))) {
        leaks.push(`${where} holds a secret "${secret}"`);
      }
    }
  }

  // Client Online: a BSN only with the switch on and only in its own person client's push; other
  // private data only in pushes of the clients where that person has his login.
  const bsnPushed = new Set<string>();
  for (const request of exported.clientOnline) {
    const text = json(request);
    const lower = text.toLowerCase();
    const where = `Client Online ${request.method} ${request.path}`;
    const pushedClient = request.method === 'PUT' ? /^\/api\/v1\/clients\/([^/?]+)$/.exec(request.path)?.[1] : undefined;
    for (const entry of values) {
      if (!privateColumn.test(entry.column) || !lower.includes(entry.value.toLowerCase())) continue;
      if (entry.column === 'bsn') {
        const own = entry.holders.some((h) => h.personClient && h.clientNumber === pushedClient);
        if (options.sendBsn && own && (request.body as { bsn?: unknown }).bsn === entry.value) bsnPushed.add(entry.value);
        else leaks.push(`${where} holds the BSN "${entry.value}"`);
        continue;
      }
      const allowed = new Set<string>();
      for (const holder of entry.holders) for (const n of await clientsSeeingPrivateDataOf(s, holder)) allowed.add(n);
      if (pushedClient === undefined || !allowed.has(pushedClient)) leaks.push(`${where} holds ${entry.column} "${entry.value}", which only ${[...allowed].join(', ')} may see`);
    }
    for (const secret of secretValues) if (text.includes(secret)) leaks.push(`${where} holds a secret "${secret}"`);
  }
  // With the switch on, the person clients' BSNs did go (the variant tests what it says).
  expect([...bsnPushed].sort()).toEqual(options.sendBsn ? ['174623895', '238471650'] : []);

  expect(leaks, leaks.slice(0, 40).join('\n')).toEqual([]);
}

/**
 * With encryption on, a failed attempt's message and stack trace are in the history only as an
 * encrypted payload ("Encoded failure"); the codec reads them.
 */
async function expectFailuresEncrypted(s: TestStack, key: EncryptionKey): Promise<void> {
  const codec = new EncryptionCodec(key);
  const failures: temporal.api.failure.v1.IFailure[] = [];
  // Every run of the client's workflow: it may have continued as new since the outage.
  for await (const run of s.temporal.client.workflow.list({ query: `WorkflowId = "client-${numbers.A}"` })) {
    const history = await s.temporal.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    for (const event of history.events ?? []) {
      // A sync's first attempt is a local activity: its failure is on its marker.
      const failure = event.activityTaskStartedEventAttributes?.lastFailure ?? event.activityTaskFailedEventAttributes?.failure ?? event.markerRecordedEventAttributes?.failure;
      if (failure) failures.push(failure);
    }
    const raw = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
    expect(raw.includes('CaseWare Cloud failed')).toBe(false);
    // Plain are only what Temporal itself must read: search attributes, and what the SDK's core
    // writes into a local activity's marker (its type, id, attempt and times; its result is encrypted).
    expect(plainPayloads(history).filter((path) => !/searchAttributes|markerRecordedEventAttributes\.details\.data\./.test(path))).toEqual([]);
  }
  expect(failures.length, 'a failed CaseWare attempt in the history of client 8101').toBeGreaterThan(0);
  for (const failure of failures) {
    expect(failure.message).toBe('Encoded failure');
    expect(failure.stackTrace ?? '').toBe('');
    const [decoded] = await codec.decode([failure.encodedAttributes as Payload]);
    const attributes = defaultPayloadConverter.fromPayload<{ message: string; stack_trace: string }>(decoded!);
    expect(attributes.message).toMatch(/^CaseWare Cloud failed on [A-Z]+ \/\S+ \(5\d\d server\)/);
    expect(attributes.stack_trace).toMatch(/\n\s+at /);
  }
}
