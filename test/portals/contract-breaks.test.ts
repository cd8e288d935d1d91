import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CaseWareClient, CaseWareError } from '../../src/portals/caseware/client';
import { ClientOnlineClient, ClientOnlineError } from '../../src/portals/client-online/client';
import { maxResponseBytes } from '../../src/portals/http';
import { rejection, startStandIn, type StandIn } from '../support/simulator-http';

// Portals that break their contract: answers of the wrong shape, not JSON, of another content type,
// far too large, or dripping so slowly they never finish. Each client turns every one into its
// typed, classified error within its request timeout: no crash, no hang, no memory eaten.

type Misbehaviour = (request: IncomingMessage, response: ServerResponse) => void;

const json = (body: string, type = 'application/json'): Misbehaviour => (_request, response) => {
  response.writeHead(200, { 'content-type': type });
  response.end(body);
};

/** Past the size limit, sent in chunks as a real service would stream it; records whether it was all sent. */
let hugeFinished = false;
const huge: Misbehaviour = (_request, response) => {
  response.writeHead(200, { 'content-type': 'application/json' });
  const chunk = Buffer.alloc(64 * 1024, 'x');
  let sent = 0;
  hugeFinished = false;
  const more = () => {
    while (sent < maxResponseBytes * 4) {
      sent += chunk.length;
      if (!response.write(chunk)) {
        response.once('drain', more);
        return;
      }
    }
    hugeFinished = true;
    response.end();
  };
  response.write('[');
  more();
};

let dripTimers: NodeJS.Timeout[] = [];
const drip: Misbehaviour = (_request, response) => {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.write('{');
  const timer = setInterval(() => response.write(' '), 50);
  dripTimers.push(timer);
  response.on('close', () => clearInterval(timer));
};

const cutOff: Misbehaviour = (request, response) => {
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
  response.write('{"CWGuid":"');
  setTimeout(() => request.socket.destroy(), 20);
};

const scenarios: [string, Misbehaviour, { code: string; detail?: RegExp }][] = [
  ['JSON of the wrong shape', json('{"unexpected":true,"items":"no"}'), { code: 'bad-response', detail: /unexpected shape/ }],
  ['an array where an object belongs', json('[1,2,3]'), { code: 'bad-response', detail: /unexpected shape/ }],
  ['JSON null', json('null'), { code: 'bad-response', detail: /unexpected shape/ }],
  ['invalid JSON', json('{"CWGuid": "abc", '), { code: 'bad-response', detail: /not JSON/ }],
  ['an empty body', json(''), { code: 'bad-response', detail: /not JSON/ }],
  ['an HTML page with status 200', json('<html><body>Maintenance</body></html>', 'text/html; charset=utf-8'), { code: 'bad-response', detail: /content type text\/html, not JSON/ }],
  ['JSON sent as text/plain', json('{"a":1}', 'text/plain'), { code: 'bad-response', detail: /content type text\/plain/ }],
  ['a body four times the size limit', huge, { code: 'bad-response', detail: /larger than 8388608 bytes/ }],
  ['a declared length past the size limit', (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(maxResponseBytes + 1) });
    response.write('[');
  }, { code: 'bad-response', detail: /larger than/ }],
  ['a body that drips and never finishes', drip, { code: 'timeout' }],
  ['a body cut off before its length', cutOff, { code: 'network' }],
];

let standIn: StandIn;
let misbehave: Misbehaviour = json('{}');
// Long enough to read 8 MiB over loopback on a loaded machine; the drip is cut off after it.
const timeoutMs = 2_000;

beforeAll(async () => {
  standIn = await startStandIn((request, response) => {
    // CaseWare's token request answers as it should: the contract breaks on the API call.
    if (request.url?.endsWith('/auth/token')) return json('{"Token":"t-1"}')(request, response);
    misbehave(request, response);
  });
});
afterAll(async () => {
  for (const timer of dripTimers) clearInterval(timer);
  dripTimers = [];
  await standIn.close();
});

const clients = {
  'CaseWare Cloud': {
    call: () => new CaseWareClient({ baseUrl: `${standIn.origin}/firm/api/v2`, clientId: 'i', clientSecret: 's', requestTimeoutMs: timeoutMs }).getEntity('guid-1'),
    ErrorClass: CaseWareError,
    operation: 'GET /entities/guid-1',
  },
  'Client Online': {
    call: () => new ClientOnlineClient({ baseUrl: standIn.origin, apiKey: 'k', requestTimeoutMs: timeoutMs }).getClient('1001'),
    ErrorClass: ClientOnlineError,
    operation: 'GET /api/v1/clients/1001',
  },
} as const;

describe.each(Object.entries(clients))('%s client', (label, client) => {
  test.each(scenarios)('%s: a typed, classified error within the timeout', async (_name, behaviour, expected) => {
    misbehave = behaviour;
    const started = performance.now();
    const error = await rejection(client.ErrorClass as unknown as new (...args: never[]) => CaseWareError | ClientOnlineError, client.call());
    const elapsed = performance.now() - started;
    expect(error).toMatchObject({ code: expected.code, retryable: true });
    // An unreadable answer is the portal's fault, not the record's: retried until fixed, and shown
    // once as the portal's health. Transport trouble passes by itself.
    expect(error.scope).toBe(expected.code === 'bad-response' ? 'portal' : 'transient');
    expect(error.message).toContain(`${label} `);
    expect(error.message).toContain(client.operation);
    if (expected.detail) expect(error.message).toMatch(expected.detail);
    // Never the body: it may quote personal data.
    expect(error.message).not.toMatch(/Maintenance|unexpected":|xxxx/);
    expect(elapsed).toBeLessThan(timeoutMs + 1_500);
    if (behaviour === huge) expect(hugeFinished, 'the client read the whole huge body').toBe(false);
  });
});

test('a 409 of Client Online with a huge body is still classified, reading at most the size limit', async () => {
  misbehave = (_request, response) => {
    response.writeHead(409, { 'content-type': 'application/json' });
    response.write('{"error":{"code":"conflict","message":"');
    const chunk = Buffer.alloc(64 * 1024, 'y');
    const more = () => {
      for (let sent = 0; sent < maxResponseBytes * 2; sent += chunk.length) if (!response.write(chunk)) return void response.once('drain', more);
      response.end('"}}');
    };
    more();
  };
  const client = new ClientOnlineClient({ baseUrl: standIn.origin, apiKey: 'k', requestTimeoutMs: timeoutMs });
  const error = await rejection(ClientOnlineError, client.pushClient('1001', { name: 'A', kind: 'company', users: [] }));
  // Unreadable, so not the retryable race of the service's own "conflict": a username taken.
  expect(error).toMatchObject({ code: 'username-taken', status: 409, retryable: false });
});
