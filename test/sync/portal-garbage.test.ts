import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/temporal';

// End to end: CaseWare Cloud answers garbage (a 200 whose body is not JSON) to the sync's writes.
// The worker does not crash: the activity fails with the portal's bad-response, CaseWare shows as
// unhealthy (no sync error is pinned on the record), the retry gets through once the portal answers
// properly again, and the entity exists once.

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function simulator(path: string, body: unknown) {
  const response = await fetch(`${stack.simulator.origin}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(204);
}

test('a portal that answers garbage: a retried activity and an unhealthy portal, not a crashed worker or a sync error', async () => {
  // The script answers in the simulator's stead, so the entity is not created by a garbage answer.
  await simulator('/_sim/script', { rules: [{ method: 'POST', path: '^/entities$', status: 200, body: '<html>proxy error</html>' }] });
  const created = await stack.api('POST', '/clients', { clientNumber: '7301', kind: 'company', name: 'Rommel B.V.', links: { caseware: true } });
  expect(created.status).toBe(201);

  const sick = await waitFor('CaseWare to be unhealthy with bad-response', async () => {
    const health = (await stack.api('GET', '/sync/health')).body.caseware;
    return health.lastFailure?.code === 'bad-response' && health;
  }, { timeoutMs: 30_000 });
  expect(sick.healthy).toBe(false);
  expect(sick.lastFailure.message).toMatch(/^CaseWare Cloud answered POST \/entities unexpectedly \(200 bad-response: not JSON\)/);
  expect(sick.lastFailure.message).not.toContain('proxy error');
  expect((await stack.api('GET', '/sync/errors?clientNumber=7301')).body.errors).toEqual([]);
  expect((await stack.api('GET', '/sync/clients/7301')).body.caseware.state).toBe('pending');
  // The worker is still running: it is polling and the workflow's activity is being retried.
  expect(stack.services.worker.getState()).toBe('RUNNING');

  await simulator('/_sim/script', { rules: [] });
  await stack.settled('7301', { timeoutMs: 60_000 });
  expect((await stack.simState()).entities.filter((entity) => entity.EntityNo === '7301')).toHaveLength(1);
  expect((await stack.api('GET', '/sync/health')).body.caseware).toMatchObject({ healthy: true });
});
