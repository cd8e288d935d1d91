import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';

// Raw HTTP for the tests of the portal simulators and clients: API calls as they go over the wire,
// the simulators' `/_sim` test hooks, and a stand-in service for answers no simulator gives.

// Raw JSON as a service answers it: untyped on purpose, the tests assert its shape.
export type Json = any;

export interface Answer {
  status: number;
  headers: Headers;
  body: Json;
}

async function jsonOf(response: Response): Promise<Json> {
  const text = await response.text();
  return text === '' ? undefined : JSON.parse(text);
}

/** One API call as sent over the wire, with `body` as JSON; gives up after 5 s. */
export async function rawCall(method: string, url: string, headers: Record<string, string>, body?: unknown): Promise<Answer> {
  const sent: Record<string, string> = { ...headers };
  if (body !== undefined) sent['content-type'] = 'application/json';
  const response = await fetch(url, {
    method,
    headers: sent,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  return { status: response.status, headers: response.headers, body: await jsonOf(response) };
}

/** Calls a simulator's test hook `/_sim/{path}`, with `body` as JSON. */
export function callHook(origin: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response> {
  return fetch(`${origin}/_sim/${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Calls a simulator's test hook `/_sim/{path}`; answers its JSON, undefined when it has none. */
export async function simHook(origin: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Json> {
  return jsonOf(await callHook(origin, method, path, body));
}

/** Resets the simulator, or sets its faults; expects the 204 of settings that validate. */
export async function setSim(origin: string, path: 'reset' | 'faults', body?: object): Promise<void> {
  const response = await callHook(origin, 'POST', path, body);
  expect(response.status).toBe(204);
}

/** The simulator's state as `/_sim/state` shows it. */
export async function simState<State>(origin: string): Promise<State> {
  return (await simHook(origin, 'GET', 'state')) as State;
}

/** The `/_sim` hooks of one simulator. */
export class SimHooks<State> {
  constructor(readonly origin: string) {}

  hook(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Json> {
    return simHook(this.origin, method, path, body);
  }

  state(): Promise<State> {
    return simState<State>(this.origin);
  }

  faults(settings: object): Promise<unknown> {
    return this.hook('POST', 'faults', settings);
  }
}

/**
 * Pins the seeded fault plan through 30 calls per run: the same seed gives the same statuses (with
 * successes, 5xx and 429 among them), another seed others, and `{}` clears the faults. `check`
 * looks at every answer besides.
 */
export async function expectSeededFaults(hooks: SimHooks<unknown>, call: () => Promise<Answer>, check?: (answer: Answer) => void): Promise<void> {
  const run = async () => {
    await hooks.faults({ seed: 7, errorRate: 0.3, rateLimitRate: 0.2 });
    const statuses: number[] = [];
    for (let index = 0; index < 30; index += 1) {
      const answer = await call();
      if (answer.status === 429) expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
      check?.(answer);
      statuses.push(answer.status);
    }
    return statuses;
  };
  const first = await run();
  const second = await run();
  expect(second).toEqual(first);
  expect(first).toContain(200);
  expect(first.some((status) => status === 500 || status === 503)).toBe(true);
  expect(first).toContain(429);
  await hooks.faults({ seed: 8, errorRate: 0.3, rateLimitRate: 0.2 });
  const other: number[] = [];
  for (let index = 0; index < 30; index += 1) other.push((await call()).status);
  expect(other).not.toEqual(first);
  await hooks.faults({});
  for (let index = 0; index < 10; index += 1) expect((await call()).status).toBe(200);
}

/** The error a promise rejects with, which must be an `ErrorClass`; fails the test when it resolves. */
export async function rejection<E extends Error>(ErrorClass: new (...args: never[]) => E, promise: Promise<unknown>): Promise<E> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ErrorClass);
    return error as E;
  }
  throw new Error(`expected a ${ErrorClass.name}, but the call succeeded`);
}

export interface StandIn {
  /** `http://127.0.0.1:{port}` */
  origin: string;
  close(): Promise<void>;
}

/** A stand-in service on a free loopback port, for answers the simulators never give. */
export async function startStandIn(handler: RequestListener): Promise<StandIn> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
