import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { requestSignal } from '../../src/portals/http';

// A portal request inside an activity carries the attempt's cancellation signal and its own
// timeout. Combined naively (AbortSignal.any with AbortSignal.timeout), Node 20 may collect the
// timeout before it fires, and the request then hangs for undici's five minutes: the chaos run met
// it. Here garbage collection runs every few milliseconds while a request waits on a portal that
// never answers.

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

let server: Server;
let url: string;
beforeAll(async () => {
  server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** How the request ended (the error's name, or still waiting after 5 s), and after how long. */
async function hangingRequest(signal: AbortSignal): Promise<{ ended: string; ms: number }> {
  const startedAt = Date.now();
  const collecting = setInterval(collectGarbage, 20);
  try {
    const outcome = fetch(url, { signal }).then(
      () => 'answered',
      (error: Error) => error.name,
    );
    const ended = await Promise.race([outcome, new Promise<string>((resolve) => setTimeout(() => resolve('still waiting'), 5_000))]);
    return { ended, ms: Date.now() - startedAt };
  } finally {
    clearInterval(collecting);
  }
}

test('a request with an attempt\'s signal times out on time, garbage collection or not', async () => {
  const attempt = new AbortController();
  const { ended, ms } = await hangingRequest(requestSignal(attempt.signal, 400));
  expect(ended).toBe('TimeoutError');
  expect(ms).toBeLessThan(2_000);
});

test('the attempt\'s signal still aborts the request before its timeout', async () => {
  const attempt = new AbortController();
  setTimeout(() => attempt.abort(), 200);
  const { ended, ms } = await hangingRequest(requestSignal(attempt.signal, 10_000));
  expect(ended).toBe('AbortError');
  expect(ms).toBeLessThan(2_000);
});
