import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/temporal';

// Issue 19: the database work of one registry change, end to end over real servers (API → outbox
// → dispatcher → workflow → both portals' syncs). Every statement outside a transaction is a commit
// of its own, and every transaction one more: counted from knex's query events of the service's
// database handle (the API, the dispatcher and the worker share it in the test stack), the same
// figure `npm run bench` reads from pg_stat_database. A transaction is followed by its connection
// (knex names it on every statement; the transaction's own id it forgets after a savepoint).

const COMMIT_BUDGET = 6;

interface Commit {
  statements: string[];
  /** The outbox dispatcher's poll that found nothing to claim: it comes every poll interval, change or not. */
  idle?: boolean;
}

let stack: TestStack;
let counting = false;
const commitsSeen: Commit[] = [];
/** Per connection: the transaction it is in, until its COMMIT or ROLLBACK. */
const openTransactions = new Map<string, string[]>();
/** The dispatcher's claims, by query, until their answer says whether they claimed anything. */
const claims = new Map<string, Commit>();

function observe(query: { sql: string; __knexUid: string; __knexQueryUid: string }): void {
  const sql = query.sql.replace(/\s+/g, ' ').trim();
  const open = openTransactions.get(query.__knexUid);
  if (/^begin/i.test(sql)) {
    openTransactions.set(query.__knexUid, []);
  } else if (/^(commit|rollback)/i.test(sql)) {
    openTransactions.delete(query.__knexUid);
    if (counting && /^commit/i.test(sql) && open) commitsSeen.push({ statements: open });
  } else if (open) {
    if (!/^(savepoint|release savepoint)/i.test(sql)) open.push(sql);
  } else if (counting) {
    const commit: Commit = { statements: [sql] };
    commitsSeen.push(commit);
    if (/^with marked as/i.test(sql)) claims.set(query.__knexQueryUid, commit);
  }
}

beforeAll(async () => {
  stack = await startTestStack();
  stack.database.db.on('query', observe);
  stack.database.db.on('query-response', (response: { rowCount?: number } | undefined, query: { __knexQueryUid: string }) => {
    const claim = claims.get(query.__knexQueryUid);
    claims.delete(query.__knexQueryUid);
    if (claim && response?.rowCount === 0) claim.idle = true;
  });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

function commits(): Commit[] {
  return commitsSeen.filter((commit) => !commit.idle);
}

/** What the commits were, for the message of a failed expectation: one line per commit. */
function described(): string {
  return commits()
    .map((commit) => `  ${commit.statements.map((sql) => sql.slice(0, commit.statements.length > 1 ? 45 : 90)).join(' | ')}`)
    .join('\n');
}

async function portalsHold(clientNumber: string, city: string, mobile: string): Promise<boolean> {
  const [caseware, clientOnline] = await Promise.all([stack.simState(), stack.coState()]);
  const entity = caseware.entities.find((e) => e.EntityNo === clientNumber);
  const users = caseware.users.filter((u) => u.MobilePhone === mobile);
  const coClient = clientOnline.clients.find((c) => c.clientNumber === clientNumber);
  return entity?.City === city && users.length === 1 && coClient?.city === city && clientOnline.logins.some((l) => l.mobile === mobile);
}

async function idle(clientNumber: string): Promise<boolean> {
  const { raw } = await stack.temporal.client.workflow.getHandle(`client-${clientNumber}`).describe();
  return (raw.pendingActivities ?? []).length === 0 && !raw.pendingWorkflowTask;
}

test(`one registry change costs at most ${COMMIT_BUDGET} database commits until both portals hold it`, async () => {
  const client = await stack.api('POST', '/clients', { clientNumber: '9301', kind: 'company', name: 'Kosten B.V.', city: 'Delft', links: { caseware: true, clientOnline: true } });
  expect(client.status).toBe(201);
  const contactIds: number[] = [];
  for (const name of ['Anna', 'Bert', 'Cor']) {
    const contact = await stack.api('POST', '/clients/9301/contacts', {
      firstName: name,
      lastName: 'Kosten',
      email: `${name.toLowerCase()}@kosten.test`,
      mobile: `+3160000000${contactIds.length}`,
      links: { caseware: true, clientOnline: true },
    });
    expect(contact.status, JSON.stringify(contact.body)).toBe(201);
    contactIds.push(contact.body.id as number);
  }
  await stack.settled('9301', { timeoutMs: 60_000 });

  const edits = [
    { path: '/clients/9301', body: { city: 'Gouda' }, city: 'Gouda', mobile: '+31600000000' },
    { path: `/contacts/${contactIds[0]}`, body: { mobile: '+31611111111' }, city: 'Gouda', mobile: '+31611111111' },
    { path: '/clients/9301', body: { city: 'Breda' }, city: 'Breda', mobile: '+31611111111' },
    { path: `/contacts/${contactIds[1]}`, body: { mobile: '+31622222222' }, city: 'Breda', mobile: '+31622222222' },
  ];
  let worst = 0;
  const report: string[] = [];
  for (const edit of edits) {
    commitsSeen.length = 0;
    counting = true;
    const response = await stack.api('PATCH', edit.path, edit.body);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    await waitFor('both portals to hold the edit', () => portalsHold('9301', edit.city, edit.mobile), { timeoutMs: 30_000 });
    await waitFor('the sync to finish', () => idle('9301'), { timeoutMs: 30_000 });
    // The sync's last transaction (the applied mark) follows the portals' answers.
    await sleep(500);
    counting = false;
    // A claim under way when counting stopped: its answer says whether it was an idle poll.
    await sleep(200);
    report.push(`PATCH ${edit.path}: ${commits().length} commits\n${described()}`);
    worst = Math.max(worst, commits().length);
  }
  expect(worst, report.join('\n')).toBeLessThanOrEqual(COMMIT_BUDGET);
}, 180_000);
