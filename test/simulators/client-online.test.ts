import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import {
  startClientOnlineSimulator,
  type ClientOnlineSimulator,
  type SimulatorState,
} from '../../src/simulators/client-online/simulator';
import { callHook, expectSeededFaults, rawCall, SimHooks, simHook, type Answer } from '../support/simulator-http';

// Talks raw HTTP to the simulator: these tests pin the rules of the simulated service itself.

class Raw extends SimHooks<SimulatorState> {
  constructor(readonly sim: ClientOnlineSimulator) {
    super(sim.origin);
  }

  /** `apiKey` null sends no key. */
  call(method: string, path: string, body?: unknown, apiKey: string | null = this.sim.apiKey): Promise<Answer> {
    const headers: Record<string, string> = apiKey === null ? {} : { 'x-api-key': apiKey };
    return rawCall(method, `${this.sim.baseUrl}/api/v1${path}`, headers, body);
  }

  push(clientNumber: string, body: object): Promise<Answer> {
    return this.call('PUT', `/clients/${clientNumber}`, body);
  }
}

const user = (ref: string, email: string, extra: object = {}) => ({
  ref,
  firstName: 'Piet',
  infix: 'de',
  lastName: 'Vries',
  initials: 'P.',
  email,
  mobile: null,
  ...extra,
});
const company = (users: object[], extra: object = {}) => ({ name: 'Bakkerij B.V.', kind: 'company', city: 'Utrecht', users, ...extra });
const person = (users: object[], extra: object = {}) => ({ name: 'P. de Vries', kind: 'person', users, ...extra });

let sim: ClientOnlineSimulator;
let raw: Raw;

beforeAll(async () => {
  sim = await startClientOnlineSimulator();
  raw = new Raw(sim);
});
afterAll(async () => {
  await sim.close();
});
beforeEach(async () => {
  await raw.hook('POST', 'reset');
});

/** The login with this ref, as the state hook shows it. */
async function loginsOf(ref: string) {
  return (await raw.state()).logins.filter((login) => login.ref === ref);
}

describe('auth', () => {
  test('API calls need the right X-Api-Key; the hooks do not', async () => {
    const missing = await raw.call('GET', '/clients', undefined, null);
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    expect((await raw.call('GET', '/clients', undefined, 'wrong')).status).toBe(401);
    expect((await raw.call('PUT', '/clients/1001', company([]), 'wrong')).status).toBe(401);
    expect((await raw.call('GET', '/clients')).status).toBe(200);
    expect((await raw.state()).clients).toEqual([]);
  });
});

describe('push', () => {
  test('creates the client and a login per user, each mailed credentials once', async () => {
    const created = await raw.push('1001', company([user('c-1', 'piet@example.nl'), user('c-2', 'ann@example.nl', { firstName: 'Ann' })]));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      clientNumber: '1001',
      name: 'Bakkerij B.V.',
      kind: 'company',
      city: 'Utrecht',
      address: null,
      bsn: null,
      users: [
        { ref: 'c-1', loginId: expect.any(String), email: 'piet@example.nl', firstName: 'Piet', infix: 'de', mobile: null },
        { ref: 'c-2', loginId: expect.any(String), email: 'ann@example.nl', firstName: 'Ann' },
      ],
    });
    expect((await raw.call('GET', '/clients/1001')).body).toEqual(created.body);
    const state = await raw.state();
    expect(state.clients).toEqual([expect.objectContaining({ clientNumber: '1001', name: 'Bakkerij B.V.', kind: 'company', users: ['c-1', 'c-2'] })]);
    expect(state.logins).toEqual([
      expect.objectContaining({ ref: 'c-1', email: 'piet@example.nl', lastName: 'Vries', clients: ['1001'] }),
      expect.objectContaining({ ref: 'c-2', email: 'ann@example.nl', clients: ['1001'] }),
    ]);
    expect(state.mails).toEqual([
      { to: 'piet@example.nl', kind: 'credentials', ref: 'c-1', at: expect.any(String) },
      { to: 'ann@example.nl', kind: 'credentials', ref: 'c-2', at: expect.any(String) },
    ]);
  });

  test('pushing the same refs again updates the details and sends no new mail', async () => {
    const first = await raw.push('1001', company([user('c-1', 'piet@example.nl')]));
    const again = await raw.push('1001', company([user('c-1', 'piet.de.vries@example.nl', { mobile: '0612345678' })], { name: 'Bakkerij Nieuw B.V.' }));
    expect(again.status).toBe(200);
    expect(again.body.name).toBe('Bakkerij Nieuw B.V.');
    expect(again.body.users).toEqual([
      expect.objectContaining({ ref: 'c-1', loginId: first.body.users[0].loginId, email: 'piet.de.vries@example.nl', mobile: '0612345678' }),
    ]);
    const state = await raw.state();
    expect(state.logins).toHaveLength(1);
    expect(state.mails).toHaveLength(1);
  });

  test('the same ref under two clients is one login that sees both, mailed once', async () => {
    const own = await raw.push('2001', person([user('p-7', 'piet@example.nl')]));
    const firm = await raw.push('1001', company([user('p-7', 'piet@example.nl'), user('c-2', 'ann@example.nl')]));
    expect(firm.body.users[0].loginId).toBe(own.body.users[0].loginId);
    const state = await raw.state();
    expect(state.logins.find((login) => login.ref === 'p-7')?.clients).toEqual(['2001', '1001']);
    expect(state.mails.map((mail) => mail.ref)).toEqual(['p-7', 'c-2']);
  });

  test('a user missing from a push loses that client; a login left with no client is deleted', async () => {
    await raw.push('2001', person([user('p-7', 'piet@example.nl')]));
    await raw.push('1001', company([user('p-7', 'piet@example.nl'), user('c-2', 'ann@example.nl')]));
    const without = await raw.push('1001', company([]));
    expect(without.status).toBe(200);
    expect(without.body.users).toEqual([]);
    const state = await raw.state();
    expect(state.logins.map((login) => [login.ref, login.clients])).toEqual([['p-7', ['2001']]]);
    expect(state.clients.find((client) => client.clientNumber === '1001')?.users).toEqual([]);
    // A ref deleted with its last client is unknown again: pushing it again is a new login and mail.
    await raw.push('1001', company([user('c-2', 'ann@example.nl')]));
    expect((await raw.state()).mails.map((mail) => mail.ref)).toEqual(['p-7', 'c-2', 'c-2']);
  });

  test('DELETE removes the client; its logins lose access and those left with none are deleted', async () => {
    await raw.push('2001', person([user('p-7', 'piet@example.nl')]));
    await raw.push('1001', company([user('p-7', 'piet@example.nl'), user('c-2', 'ann@example.nl')]));
    const deleted = await raw.call('DELETE', '/clients/1001');
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeUndefined();
    expect((await raw.call('GET', '/clients/1001')).status).toBe(404);
    const state = await raw.state();
    expect(state.clients.map((client) => client.clientNumber)).toEqual(['2001']);
    expect(state.logins.map((login) => [login.ref, login.clients])).toEqual([['p-7', ['2001']]]);
    const again = await raw.call('DELETE', '/clients/1001');
    expect(again.status).toBe(404);
    expect(again.body).toEqual({ error: { code: 'not-found', message: expect.any(String) } });
  });

  test('a username (email, any case) taken by another login answers 409 and nothing changes', async () => {
    await raw.push('1001', company([user('c-1', 'piet@example.nl'), user('c-2', 'ann@example.nl')]));
    const before = await raw.state();

    const newLogin = await raw.push('1002', company([user('c-9', 'OK@example.nl'), user('c-3', 'PIET@Example.NL')]));
    expect(newLogin.status).toBe(409);
    expect(newLogin.body).toEqual({ error: { code: 'username-taken', message: expect.any(String) } });
    expect(newLogin.body.error.message).not.toMatch(/@/);

    const knownLogin = await raw.push('1001', company([user('c-1', 'piet@example.nl'), user('c-2', 'piet@example.nl')]));
    expect(knownLogin.status).toBe(409);
    const twoNew = await raw.push('1003', company([user('c-4', 'same@example.nl'), user('c-5', 'Same@example.nl')]));
    expect(twoNew.status).toBe(409);

    expect(await raw.state()).toEqual(before);
    expect((await raw.call('GET', '/clients/1002')).status).toBe(404);
  });

  test('a username freed by a login this push deletes may be taken by a new login in the same push', async () => {
    await raw.push('1001', company([user('c-1', 'piet@example.nl')]));
    const replaced = await raw.push('1001', company([user('c-2', 'piet@example.nl')]));
    expect(replaced.status).toBe(200);
    expect((await raw.state()).logins.map((login) => login.ref)).toEqual(['c-2']);
  });

  test('a login that changes its email frees the old username; two logins may swap theirs in one push', async () => {
    await raw.push('1001', company([user('c-1', 'piet@example.nl'), user('c-2', 'ann@example.nl')]));
    await raw.push('2001', person([user('c-1', 'piet@example.nl')]));
    // c-1 changes its address (in every client it sees): piet@ is free for a new login, pietje@ is not.
    expect((await raw.push('2001', person([user('c-1', 'pietje@example.nl')]))).status).toBe(200);
    expect((await raw.push('3001', person([user('c-3', 'Pietje@example.nl')]))).status).toBe(409);
    expect((await raw.push('3001', person([user('c-3', 'PIET@example.nl')]))).status).toBe(201);
    const swapped = await raw.push('1001', company([user('c-1', 'ann@example.nl'), user('c-2', 'pietje@example.nl')]));
    expect(swapped.status).toBe(200);
    expect((await raw.push('3002', person([user('c-4', 'ann@example.nl')]))).status).toBe(409);
    expect((await raw.push('3002', person([user('c-4', 'pietje@example.nl')]))).status).toBe(409);
    // A login deleted with its last client frees its username.
    expect((await raw.call('DELETE', '/clients/3001')).status).toBe(204);
    expect((await raw.push('3002', person([user('c-4', 'piet@example.nl')]))).status).toBe(201);
    const { logins } = await raw.state();
    expect(logins.map((login) => [login.ref, login.email])).toEqual([
      ['c-1', 'ann@example.nl'],
      ['c-2', 'pietje@example.nl'],
      ['c-4', 'piet@example.nl'],
    ]);
  });

  test('invalid pushes answer 400 and change nothing', async () => {
    await raw.push('1001', company([user('c-1', 'piet@example.nl')]));
    const before = await raw.state();
    const refused = async (clientNumber: string, body: unknown) => {
      const answer = await raw.call('PUT', `/clients/${clientNumber}`, body);
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({ error: { code: 'invalid', message: expect.any(String) } });
      return answer.body.error.message as string;
    };
    expect(await refused('1001', company([user('c-1', 'a@example.nl'), user('c-1', 'b@example.nl')]))).toMatch(/ref c-1 appears twice/);
    expect(await refused('1001', company([{ ref: 'c-2', firstName: 'Ann' }]))).toMatch(/email is required/);
    expect(await refused('1001', company([user('c-2', '  ')]))).toMatch(/email is required/);
    expect(await refused('1001', company([user('c-2', 'not-an-email')]))).toMatch(/email/);
    expect(await refused('1001', company([], { bsn: '123456782' }))).toMatch(/bsn is only for person clients/);
    expect(await refused('2001', person([], { bsn: '12345' }))).toMatch(/bsn/);
    expect(await refused('1001', company([], { kind: 'trust' }))).toMatch(/kind/);
    expect(await refused('1001', company([], { name: '' }))).toMatch(/name is required/);
    expect(await refused('1001', company([], { website: 'https://example.nl' }))).toMatch(/website/);
    expect(await refused('1001', { name: 'No users', kind: 'company' })).toMatch(/users/);
    expect(await refused('1001', company([{ ...user('c-2', 'ann@example.nl'), ref: '' }]))).toMatch(/ref is required/);
    await refused('bad%20number', company([]));
    expect(await raw.state()).toEqual(before);

    const withBsn = await raw.push('2001', person([user('p-1', 'p@example.nl')], { bsn: '123456782' }));
    expect(withBsn.status).toBe(201);
    expect(withBsn.body.bsn).toBe('123456782');
  });

  test('unknown clients answer 404; lists are paged with a total', async () => {
    expect((await raw.call('GET', '/clients/9999')).status).toBe(404);
    for (const number of ['1', '2', '3', '4', '5']) await raw.push(number, company([user(`c-${number}`, `c${number}@example.nl`)]));
    const pages: string[][] = [];
    for (let page = 1; page <= 4; page += 1) {
      const answer = await raw.call('GET', `/clients?page=${page}&pageSize=2`);
      expect(answer.body).toMatchObject({ page, pageSize: 2, total: 5 });
      pages.push((answer.body.items as { clientNumber: string }[]).map((client) => client.clientNumber));
    }
    expect(pages).toEqual([['1', '2'], ['3', '4'], ['5'], []]);
    const all = await raw.call('GET', '/clients');
    expect(all.body).toMatchObject({ page: 1, pageSize: 50, total: 5 });
    expect(all.body.items[0].users[0]).toMatchObject({ ref: 'c-1', email: 'c1@example.nl' });
    expect((await raw.call('GET', '/clients?pageSize=1000')).body.pageSize).toBe(100);
    expect((await raw.call('GET', '/clients?page=0')).status).toBe(400);
    expect((await raw.call('GET', '/clients?pageSize=abc')).status).toBe(400);
  });
});

describe('why order matters', () => {
  test('THE HAZARD: a new ref for a person who already has a login makes a second login and a second mail', async () => {
    // P is a person client and, as follower of himself, a contact at company A: one login, ref p-7.
    await raw.push('2001', person([user('p-7', 'piet@prive.example')]));
    await raw.push('1001', company([user('p-7', 'piet@prive.example')]));
    expect((await raw.state()).mails).toHaveLength(1);

    // The master link ends while the contact is still pushed: the contact now carries its own ref
    // (and its business email). Client Online cannot know it is the same person.
    const pushed = await raw.push('1001', company([user('c-12', 'piet@bakkerij.example')]));
    expect(pushed.status).toBe(200);

    const state = await raw.state();
    expect(state.logins.map((login) => [login.ref, login.clients])).toEqual([
      ['p-7', ['2001']], // the old login lost the company
      ['c-12', ['1001']], // a second login for the same person
    ]);
    expect(state.mails.map((mail) => [mail.to, mail.ref])).toEqual([
      ['piet@prive.example', 'p-7'],
      ['piet@bakkerij.example', 'c-12'], // the second credentials mail
    ]);
  });

  test('the safe order (contact off and pushed first) never shows an unknown ref', async () => {
    await raw.push('2001', person([user('p-7', 'piet@example.nl')]));
    await raw.push('1001', company([user('p-7', 'piet@example.nl')]));
    await raw.push('1001', company([])); // the contact's link switched off
    await raw.call('DELETE', '/clients/1001'); // then the company
    const state = await raw.state();
    expect(state.logins.map((login) => [login.ref, login.clients])).toEqual([['p-7', ['2001']]]);
    expect(state.mails).toHaveLength(1);
  });
});

describe('concurrent pushes (processingDelayMs)', () => {
  let slow: ClientOnlineSimulator;
  let client: Raw;

  beforeAll(async () => {
    slow = await startClientOnlineSimulator({ processingDelayMs: 100 });
    client = new Raw(slow);
  });
  afterAll(async () => {
    await slow.close();
  });
  beforeEach(async () => {
    await client.hook('POST', 'reset');
  });

  test('two pushes with the same new ref: one creates the login and mails, the other answers 409', async () => {
    const started = performance.now();
    const [own, firm] = await Promise.all([
      client.push('2001', person([user('p-7', 'piet@example.nl')])),
      client.push('1001', company([user('p-7', 'piet@example.nl')])),
    ]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
    // Both looked up p-7 before either wrote: both judged it new. The first to write wins; which
    // one arrives first is up to the network.
    const [winner, loser] = own.status === 201 ? [own, firm] : [firm, own];
    const [won, lost] = own.status === 201 ? ['2001', '1001'] : ['1001', '2001'];
    expect(winner.status).toBe(201);
    expect(loser.status).toBe(409);
    expect(loser.body.error.code).toBe('conflict');
    let state = await client.state();
    expect(state.logins.map((login) => [login.ref, login.clients])).toEqual([['p-7', [won]]]);
    expect(state.mails).toHaveLength(1);
    expect(state.clients.map((c) => c.clientNumber)).toEqual([won]);

    // The loser's retry finds p-7 known: the same login gains the other client, no second mail.
    const retried = await client.push(lost, lost === '1001' ? company([user('p-7', 'piet@example.nl')]) : person([user('p-7', 'piet@example.nl')]));
    expect(retried.status).toBe(201);
    state = await client.state();
    expect(state.logins.map((login) => [login.ref, login.clients])).toEqual([['p-7', [won, lost]]]);
    expect(state.mails).toHaveLength(1);
  });

  test('a new ref whose username another push took meanwhile answers 409 username-taken', async () => {
    const [first, second] = await Promise.all([
      client.push('1001', company([user('c-1', 'info@example.nl')])),
      client.push('1002', company([user('c-2', 'info@example.nl')])),
    ]);
    expect([first.status, second.status].sort()).toEqual([201, 409]);
    const [loser, winnerRef] = first.status === 409 ? [first, 'c-2'] : [second, 'c-1'];
    expect(loser.body.error.code).toBe('username-taken');
    expect((await client.state()).logins.map((login) => login.ref)).toEqual([winnerRef]);
  });

  test('a known login deleted while a push was processed fails the push (500); the retry mails again', async () => {
    await client.push('1001', company([user('p-7', 'piet@example.nl')]));
    const pending = client.push('2001', person([user('p-7', 'piet@example.nl')]));
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect((await client.call('DELETE', '/clients/1001')).status).toBe(204);
    const failed = await pending;
    expect(failed.status).toBe(500);
    expect((await client.state()).clients).toEqual([]);
    const retried = await client.push('2001', person([user('p-7', 'piet@example.nl')]));
    expect(retried.status).toBe(201);
    expect((await client.state()).mails.map((mail) => mail.ref)).toEqual(['p-7', 'p-7']);
  });

  test('without a delay, pushes do not interleave', async () => {
    const [own, firm] = await Promise.all([
      raw.push('2001', person([user('p-7', 'piet@example.nl')])),
      raw.push('1001', company([user('p-7', 'piet@example.nl')])),
    ]);
    expect([own.status, firm.status]).toEqual([201, 201]);
    const state = await raw.state();
    expect(state.logins.map((login) => [login.ref, login.clients])).toEqual([['p-7', ['2001', '1001']]]);
    expect(state.mails).toHaveLength(1);
  });
});

describe('rate limit', () => {
  test('an empty bucket answers 429 with Retry-After', async () => {
    const limited = await startClientOnlineSimulator({ rateLimit: { burst: 2, replenishPerSecond: 4 } });
    try {
      const client = new Raw(limited);
      expect((await client.call('GET', '/clients')).status).toBe(200);
      expect((await client.call('GET', '/clients')).status).toBe(200);
      const refused = await client.call('GET', '/clients');
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(refused.body).toEqual({ error: { code: 'rate-limited', message: expect.any(String) } });
      expect((await client.state()).clients).toEqual([]); // the hooks are not rate-limited
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await client.call('GET', '/clients')).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe('test hooks', () => {
  test('reset clears clients, logins, mails and faults', async () => {
    await raw.push('1001', company([user('c-1', 'piet@example.nl')]));
    await raw.faults({ errorRate: 1 });
    await raw.hook('POST', 'reset');
    expect(await raw.state()).toEqual({ clients: [], logins: [], mails: [] });
    expect((await raw.call('GET', '/clients')).status).toBe(200);
  });

  test('with recordRequests, /_sim/requests keeps the body of every API request it let through, and reset clears it', async () => {
    const recording = await startClientOnlineSimulator({ recordRequests: true });
    try {
      const recorded = new Raw(recording);
      const body = company([user('c-1', 'piet@example.nl')]);
      await recorded.push('1001', body);
      await recorded.call('GET', '/clients?page=1');
      await recorded.call('DELETE', '/clients/1001', undefined, 'a wrong key');
      expect(await callHook(recording.origin, 'GET', 'requests').then((r) => r.json())).toEqual([
        { method: 'PUT', path: '/api/v1/clients/1001', body },
        { method: 'GET', path: '/api/v1/clients?page=1', body: null },
      ]);
      await recorded.hook('POST', 'reset');
      expect(await callHook(recording.origin, 'GET', 'requests').then((r) => r.json())).toEqual([]);
    } finally {
      await recording.close();
    }
    // Off by default: a benchmark's millions of bodies are not kept.
    expect((await callHook(sim.origin, 'GET', 'requests')).status).toBe(404);
  });

  test('seeded faults are reproducible, and {} clears them', async () => {
    await expectSeededFaults(raw, () => raw.call('GET', '/clients'), (answer) => {
      if (answer.status >= 500) expect(answer.body.error.code).toBe('unavailable');
    });
  });

  test('a faulted push changes nothing', async () => {
    await raw.faults({ errorRate: 1 });
    expect((await raw.push('1001', company([user('c-1', 'piet@example.nl')]))).status).toBeGreaterThanOrEqual(500);
    expect(await raw.state()).toEqual({ clients: [], logins: [], mails: [] });
  });

  test('latency delays answers', async () => {
    await raw.faults({ latencyMs: 120 });
    const started = performance.now();
    expect((await raw.call('GET', '/clients')).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(100);
  });

  test('dropped connections fail the request; close() works with requests hanging or mid-push', async () => {
    const faulty = await startClientOnlineSimulator({ processingDelayMs: 5_000 });
    const client = new Raw(faulty);
    const midPush = client.push('1001', company([])).then(() => 'answered', () => 'failed');
    await client.faults({ dropRate: 1 });
    await expect(client.call('GET', '/clients')).rejects.toThrow();
    await client.faults({ hangRate: 1 });
    const hanging = fetch(`${faulty.baseUrl}/api/v1/clients`, { headers: { 'x-api-key': faulty.apiKey } });
    const outcome = hanging.then(() => 'answered', () => 'failed');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = performance.now();
    await faulty.close();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await outcome).toBe('failed');
    expect(await midPush).toBe('failed');
  });

  test('GET /_sim/faults counts the faults that met a request, by kind; reset clears the counts', async () => {
    await raw.hook('POST', 'reset');
    await raw.faults({ errorRate: 1 });
    await raw.call('GET', '/clients');
    await raw.call('GET', '/clients');
    await raw.faults({ rateLimitRate: 1 });
    await raw.call('GET', '/clients');
    await raw.faults({});
    await raw.call('GET', '/clients');
    const counts = await simHook(sim.origin, 'GET', 'faults');
    const errors = (counts.injected['500'] ?? 0) + (counts.injected['503'] ?? 0);
    expect({ errors, rateLimited: counts.injected['429'] }).toEqual({ errors: 2, rateLimited: 1 });
    await raw.hook('POST', 'reset');
    expect(await simHook(sim.origin, 'GET', 'faults')).toEqual({ injected: {} });
  });

  test('fault settings are validated', async () => {
    const response = await callHook(sim.origin, 'POST', 'faults', { errorRate: 0.8, hangRate: 0.5 });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { code: 'invalid', message: expect.any(String) } });
  });
  test('calls are counted per method and route, refused ones too; the hooks are not; reset clears the counts', async () => {
    await raw.push('1001', company([user('c-1', 'piet@example.nl')]));
    await raw.push('1001', company([]));
    await raw.call('GET', '/clients/1001');
    await raw.call('GET', '/clients/1002');
    await raw.call('GET', '/clients', undefined, 'wrong');
    await raw.call('DELETE', '/clients/1001');
    await raw.state();
    expect(await raw.hook('GET', 'calls')).toEqual({
      'PUT /api/v1/clients/:clientNumber': 2,
      'GET /api/v1/clients/:clientNumber': 2,
      'GET /api/v1/clients': 1,
      'DELETE /api/v1/clients/:clientNumber': 1,
    });
    await raw.hook('POST', 'reset');
    expect(await raw.hook('GET', 'calls')).toEqual({});
  });

  test('a script answers the next matching calls with its status, body and headers, then lets calls through', async () => {
    const scripted = await callHook(sim.origin, 'POST', 'script', {
      rules: [
        { method: 'PUT', path: '^/api/v1/clients/1001$', times: 1, status: 429, headers: { 'retry-after': '7' } },
        { method: 'GET', path: '^/api/v1/clients$', times: 1, status: 503 },
        { method: 'DELETE', path: '/clients/', times: 1, status: 409, body: '{"error":{"code":"conflict","message":"busy"}}' },
      ],
    });
    expect(scripted.status).toBe(204);
    const refused = await raw.push('1001', company([user('c-1', 'piet@example.nl')]));
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('7');
    expect(refused.body).toEqual({ error: { code: 'rate-limited', message: 'Scripted failure' } });
    expect(await raw.state()).toEqual({ clients: [], logins: [], mails: [] });
    expect((await raw.push('1001', company([user('c-1', 'piet@example.nl')]))).status).toBe(201);
    expect(await raw.call('GET', '/clients')).toMatchObject({ status: 503, body: { error: { code: 'unavailable' } } });
    expect((await raw.call('GET', '/clients')).status).toBe(200);
    expect(await raw.call('DELETE', '/clients/1001')).toMatchObject({ status: 409, body: { error: { code: 'conflict', message: 'busy' } } });
    expect((await raw.call('DELETE', '/clients/1001')).status).toBe(204);
    expect(await raw.hook('GET', 'calls')).toMatchObject({ 'PUT /api/v1/clients/:clientNumber': 2, 'DELETE /api/v1/clients/:clientNumber': 2 });
  });

  test('a script that does not validate is refused with the error body; reset clears a script', async () => {
    const bad = await callHook(sim.origin, 'POST', 'script', { rules: [{ method: 'PATCH', path: '(' }] });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: { code: 'invalid', message: expect.any(String) } });
    expect((await callHook(sim.origin, 'POST', 'script', { rules: [{ method: 'GET', path: '^/api/v1/clients$', status: 500 }] })).status).toBe(204);
    expect(await raw.call('GET', '/clients')).toMatchObject({ status: 500, body: { error: { code: 'internal' } } });
    await raw.hook('POST', 'reset');
    expect((await raw.call('GET', '/clients')).status).toBe(200);
  });
});

test('state lists logins with the clients each can see', async () => {
  await raw.push('2001', person([user('p-7', 'piet@example.nl')]));
  await raw.push('1001', company([user('p-7', 'piet@example.nl'), user('p-8', 'quinten@example.nl')]));
  await raw.push('1002', company([user('p-7', 'piet@example.nl'), user('p-8', 'quinten@example.nl')]));
  await raw.push('2002', person([user('p-8', 'quinten@example.nl')]));
  const [p] = await loginsOf('p-7');
  const [q] = await loginsOf('p-8');
  // P sees his own data and both companies, never Q's, and the other way round.
  expect(p?.clients).toEqual(['2001', '1001', '1002']);
  expect(q?.clients).toEqual(['1001', '1002', '2002']);
  expect((await raw.state()).mails).toHaveLength(2);
});
