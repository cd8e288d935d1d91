import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { reconcileRequestSchema } from '../../src/api/reconcile-schemas';
import {
  describeRequest,
  listOperations,
  refusalProblem,
  requestArbitrary,
  snapshot,
  startFuzzApi,
  type FuzzApi,
  type FuzzRequest,
  type ValidBodies,
} from './fuzz-support';

// Property-based tests: thousands of malformed and hostile requests (bodies, path ids, query
// strings, content types, tokens) at every route the API's OpenAPI document lists. Whatever is
// sent, the answer is never a 5xx, a refusal is the API's JSON error with a clear message, and a
// batch of refused requests leaves every table as it was. FUZZ_RUNS and FUZZ_SEED repeat a run.

const operations = await listOperations();
const numRuns = Number(process.env.FUZZ_RUNS ?? 20);
const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

let api: FuzzApi;
let validBodies: ValidBodies;
/** Offboardings this run started: without a worker, a decision on one would wait for good. */
const started = new Set<string>();

beforeAll(async () => {
  api = await startFuzzApi();
  const [follower, plain] = api.known.id as [string, string];
  const freshNumber = fc.stringMatching(/^[A-Z][0-9]{5}$/);
  validBodies = {
    // A new client number each time: one taken already is refused before anything else is looked at.
    'POST /clients': fc.oneof(
      freshNumber.map((clientNumber) => ({ clientNumber, kind: 'company', name: 'Gamma B.V.', city: 'Zwolle', email: 'info@gamma.test', links: { caseware: true } })),
      freshNumber.map((clientNumber) => ({ clientNumber, kind: 'person', name: 'D. Delta', firstName: 'Dirk', bsn: '123456789', privateEmail: 'd@home.test' })),
    ),
    'PATCH /clients/{number}': fc.constant({ city: 'Kampen', status: 'suspect', correspondenceEmailPreference: 'private' }),
    'PUT /clients/{number}/links': fc.constant({ caseware: false, clientOnline: true }),
    'POST /clients/{number}/contacts': fc.constantFrom(
      { email: 'new@alfa.test', firstName: 'Nina', links: { caseware: true, clientOnline: false } },
      { email: 'f@alfa.test', master: { clientNumber: '2001' } },
      { master: { contactId: Number(plain) } },
    ),
    'PATCH /contacts/{id}': fc.constant({ mobile: '0612345678', infix: 'van', email: 'x@alfa.test' }),
    'PUT /contacts/{id}/links': fc.constant({ caseware: true }),
    'PUT /contacts/{id}/master': fc.constantFrom({ clientNumber: '2001' }, { contactId: Number(follower) }),
    'POST /offboardings': fc.constantFrom(
      { kind: 'revoke-contact-access', contactId: Number(follower), portals: ['caseware'], reason: 'left', execute: false },
      { kind: 'person-leaves', clientNumber: '2001', companies: ['1001'], reason: 'moved' },
      { kind: 'person-deceased', clientNumber: '2001', execute: true, reason: 'deceased' },
      { kind: 'client-leaves', clientNumber: '1001', reason: 'stopped' },
    ),
    'POST /reconcile': fc.constant({ dryRun: true, wait: false }),
    'PUT /reconcile/schedule': fc.constant({ paused: true, note: 'fuzz' }),
  };
});
afterAll(async () => {
  await api?.close();
});

function temporalDidNotAnswer(response: { statusCode: number; body: string }): boolean {
  return response.statusCode === 503 && response.body.includes('"unavailable"') && response.body.includes('did not answer in time');
}

/** Requests that would be right to wait for good here, where no worker runs the workflows. */
function waitsForWorker(request: FuzzRequest): boolean {
  const path = request.url.split('?')[0] ?? '';
  if (request.method === 'POST' && path === '/reconcile') {
    const parsed = reconcileRequestSchema.safeParse(request.json);
    return parsed.success && parsed.data.wait === true;
  }
  const decision = /^\/offboardings\/([^/]+)\/(approve|cancel)$/.exec(path);
  if (request.method !== 'POST' || decision === null) return false;
  try {
    return started.has(decodeURIComponent(decision[1]!).replace(/^0+/, ''));
  } catch {
    return false; // not an id at all
  }
}

test('the document lists every route of the API, so a new one is fuzzed without a change here', () => {
  const listed = operations.map((operation) => `${operation.method} ${operation.path}`);
  expect(listed).toEqual(
    expect.arrayContaining([
      'POST /clients',
      'PATCH /contacts/{id}',
      'GET /sync/errors',
      'POST /offboardings',
      'POST /offboardings/{id}/approve',
      'POST /offboardings/{id}/cancel',
      'POST /reconcile',
      'PUT /reconcile/schedule',
    ]),
  );
  expect(listed.length).toBeGreaterThan(25);
});

test.each(operations.map((operation) => [`${operation.method} ${operation.path}`, operation] as const))(
  '%s: hostile requests get a 4xx with a JSON error, and refused ones write nothing',
  async (key, operation) => {
    const batch = fc.array(requestArbitrary(operation, api.known, validBodies), { minLength: 1, maxLength: 8 });
    let unchanged: Awaited<ReturnType<typeof snapshot>> | undefined;
    let sent = 0;
    let refused = 0;
    // fast-check's time limit stops waiting for a run without stopping it: a run left going sends
    // no further request once the assertion has ended, so none reaches the next operation's test.
    let ended = false;
    const assertion = fc.assert(
      fc.asyncProperty(batch, async (requests) => {
        // The last batch's snapshot still holds when that batch wrote nothing.
        const before = unchanged ?? (await snapshot(api.db));
        unchanged = undefined;
        let wrote = false;
        for (const request of requests) {
          if (ended) return;
          if (waitsForWorker(request)) continue;
          const response = await api.send(request);
          sent += 1;
          // Temporal answering too slowly on a busy machine is no fault of the input: the API
          // says so (503 unavailable, the routes' deadline) and the batch must still write nothing.
          if (temporalDidNotAnswer(response)) {
            refused += 1;
            continue;
          }
          const problem = refusalProblem(response);
          if (problem) throw new Error(`${describeRequest(request)}: ${problem}`);
          if (response.statusCode >= 400) {
            refused += 1;
            continue;
          }
          // A GET that succeeds must not write either; any other success may.
          if (request.method !== 'GET') wrote = true;
          if (key === 'POST /offboardings' && response.statusCode === 202) started.add(String(response.json<{ id: number }>().id));
        }
        if (!wrote) {
          const after = await snapshot(api.db);
          expect(after, `refused requests changed the database: ${requests.map(describeRequest).join('\n')}`).toEqual(before);
          unchanged = after;
        }
      }),
      // Shrinking a failure snapshots every table per try: stop it before the test's timeout, so
      // that the failure is reported, not a timeout.
      { numRuns, interruptAfterTimeLimit: 150_000, markInterruptAsFailure: true, ...(seed === undefined ? {} : { seed }) },
    );
    await assertion.finally(() => {
      ended = true;
    });
    // Where there is something to get wrong (a body, a path id), most of what was sent must have
    // been refused: else the arbitraries test the happy path.
    if (operation.body !== undefined || operation.pathParams.length > 0) {
      expect(refused / sent, `${refused} of ${sent} requests refused`).toBeGreaterThan(0.5);
    }
  },
  // Every batch snapshots every table, and some operations go to the Temporal server: on a busy
  // machine one operation has taken over a minute (PUT /reconcile/schedule, seen twice; its
  // calls now give up after 15 s).
  180_000,
);
