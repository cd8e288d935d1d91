import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApiToken } from '../../src/api/tokens';
import { apiToken, startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/temporal';
import { cli, cleanEnv, freePort, spawnCli } from './support';

// The commands that talk to the HTTP API, run as a user runs them (the bin, in a child process)
// against a stack on real servers. What they print is what is asserted.

let stack: TestStack;
let dataDir: string;
let env: NodeJS.ProcessEnv;
const both = { caseware: true, clientOnline: true };

beforeAll(async () => {
  stack = await startTestStack();
  // An empty DATA_DIR: no token file to fall back on unless a test writes one.
  dataDir = mkdtempSync(path.join(tmpdir(), 'portal-sync-cli-'));
  env = cleanEnv({ PORTAL_SYNC_API_URL: stack.services.apiUrl, API_TOKEN: apiToken, DATA_DIR: dataDir });
});
afterAll(async () => {
  await stack?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function company(clientNumber: string, contacts: number) {
  expect((await stack.api('POST', '/clients', { clientNumber, kind: 'company', name: `Company ${clientNumber}`, links: both })).status).toBe(201);
  const ids: number[] = [];
  for (let i = 0; i < contacts; i += 1) {
    const response = await stack.api('POST', `/clients/${clientNumber}/contacts`, {
      firstName: `C${i}`,
      lastName: 'Tester',
      email: `c${i}@${clientNumber}.test`,
      links: both,
    });
    expect(response.status).toBe(201);
    ids.push(response.body.id);
  }
  await stack.settled(clientNumber);
  return ids;
}

describe('--help', () => {
  test('lists every command, and what the exit codes mean', async () => {
    const run = await cli(['--help'], env);
    expect(run.code).toBe(0);
    for (const command of ['start', 'worker', 'api', 'migrate', 'simulators', 'status', 'errors', 'health', 'hold', 'release', 'approve-mails', 'offboard', 'approve', 'cancel', 'offboardings', 'offboarding', 'reconcile']) {
      expect(run.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    }
    expect(run.stdout).toContain('Exit codes:');
    expect(run.stdout).toMatch(/^ {2}3 {4}unavailable/m);
  });

  test("each command's help has its options and examples", async () => {
    const run = await cli(['offboard', 'client-leaves', '--help'], env);
    expect(run.code).toBe(0);
    for (const option of ['--client <number>', '--execute', '--reason <text>', '--no-follow', '--json', '--api-url <url>', '--token <token>']) {
      expect(run.stdout).toContain(option);
    }
    expect(run.stdout).toContain('$ portal-sync offboard client-leaves --client 1001 --execute');
    expect(run.stdout).toContain('Exit codes:');
    const worker = await cli(['worker', '--help'], env);
    expect(worker.stdout).toMatch(/DATABASE_URL +PostgreSQL connection URL \(required\)/);
    expect(worker.stdout).toContain('outbox dispatcher');
  });

  test('bad usage ends with exit code 2', async () => {
    const unknown = await cli(['status', '1001', '--bogus'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--bogus'");
    const missing = await cli(['offboard', 'client-leaves'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--client <number>' not specified");
    const badPortal = await cli(['errors', '--portal', 'sharepoint'], env);
    expect(badPortal.code).toBe(2);
  });
});

test('status: per portal its state, remote records and errors', async () => {
  await company('st1', 1);
  const run = await cli(['status', 'st1'], env);
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout).toMatch(/^Client st1$/m);
  expect(run.stdout).toMatch(/^ {2}CaseWare Cloud {2}in-sync {5}last sync \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/m);
  expect(run.stdout).toMatch(/^ {2}Client Online {3}in-sync {5}last sync \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/m);
  expect(run.stdout).toMatch(/client \d+ +\S+ +\S+ +\d{4}-/);
  expect(run.stdout).toContain('No open sync errors.');
  expect(run.stdout).toContain('Every change has been handed to the sync.');

  expect((await stack.api('POST', '/clients', { clientNumber: 'st2', kind: 'company', name: 'Company st2', links: { caseware: true, clientOnline: false } })).status).toBe(201);
  await stack.settled('st2');
  const oneLink = await cli(['status', 'st2'], env);
  expect(oneLink.code, oneLink.stderr).toBe(0);
  expect(oneLink.stdout).toMatch(/^ {2}CaseWare Cloud {2}in-sync {5}last sync \d{4}-/m);
  expect(oneLink.stdout).toMatch(/^ {2}Client Online {3}not-linked$/m);

  const json = await cli(['status', 'st1', '--json'], env);
  expect(json.code).toBe(0);
  const status = JSON.parse(json.stdout);
  expect(status.clientNumber).toBe('st1');
  expect(status.caseware.state).toBe('in-sync');

  const unknown = await cli(['status', 'nosuch'], env);
  expect(unknown.code).toBe(4);
  expect(unknown.stderr).toMatch(/not found: .*nosuch/);
});

test('errors --portal caseware --json: only that portal\'s errors, as the API answers them', async () => {
  expect((await stack.api('POST', '/clients', { clientNumber: 'er1', kind: 'company', name: 'Errors', links: both })).status).toBe(201);
  const contact = await stack.api('POST', '/clients/er1/contacts', { firstName: 'No', lastName: 'Mail', links: both });
  expect(contact.status).toBe(201);
  await waitFor('a CaseWare sync error of client er1', async () => {
    const list = await stack.api('GET', '/sync/errors?clientNumber=er1');
    return list.body.errors.some((error: { portal: string }) => error.portal === 'caseware');
  });

  const run = await cli(['errors', '--portal', 'caseware', '--json'], env);
  expect(run.code, run.stderr).toBe(0);
  const list = JSON.parse(run.stdout);
  expect(list.errors.length).toBeGreaterThan(0);
  expect(list.errors.every((error: { portal: string }) => error.portal === 'caseware')).toBe(true);
  expect(list.errors).toContainEqual(
    expect.objectContaining({ clientNumber: 'er1', recordType: 'contact', recordId: contact.body.id, code: 'missing-email', portal: 'caseware' }),
  );
  expect(list.total).toBe(list.errors.length);

  const human = await cli(['errors', '--client', 'er1', '--code', 'missing-email'], env);
  expect(human.code).toBe(0);
  expect(human.stdout).toMatch(/open sync errors?:/);
  expect(human.stdout).toMatch(/last seen +portal +client +record +code +attempts +message/);
  expect(human.stdout).toMatch(new RegExp(`CaseWare Cloud +er1 +contact ${contact.body.id} +missing-email +\\d+ +\\S`));
});

describe('portals', () => {
  test('hold, health and release: who held it and how many clients wait; both idempotent; an unknown portal is bad usage', async () => {
    await company('ho1', 1);
    const held = await cli(['hold', 'caseware', '--note', 'maintenance window'], env);
    expect(held.code, held.stderr).toBe(0);
    expect(held.stdout).toContain('CaseWare Cloud is held: nothing is written to it until `portal-sync release caseware`.');
    expect(held.stdout).toContain('Note: maintenance window');
    const again = await cli(['hold', 'caseware'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^CaseWare Cloud was held already, by api since \d{4}-\d\d-\d\d .*; nothing changed\.$/m);

    expect((await stack.api('PATCH', '/clients/ho1', { city: 'Ommen' })).status).toBe(200);
    await waitFor('the CaseWare sync of ho1 to meet the hold', async () => (await stack.api('GET', '/sync/health')).body.caseware.hold?.heldClients === 1);
    const health = await cli(['health'], env);
    expect(health.code, health.stderr).toBe(0);
    expect(health.stdout).toMatch(/^CaseWare Cloud\n {2}Working\.\n {2}Held by api since .* \(maintenance window\): nothing is written to it; 1 client waiting\.$/m);
    expect(health.stdout).toMatch(/^Client Online\n {2}Working\.\n {2}Credentials-mail guard: \d+ of 10000 new logins in the last 10 minutes; 0 held for approval\.$/m);
    const json = JSON.parse((await cli(['health', '--json'], env)).stdout);
    expect(json.caseware.hold).toMatchObject({ heldBy: 'api', note: 'maintenance window', heldClients: 1 });

    const released = await cli(['release', 'caseware'], env);
    expect(released.code, released.stderr).toBe(0);
    expect(released.stdout).toContain('CaseWare Cloud is released: 1 client sync now.');
    expect((await cli(['release', 'caseware'], env)).stdout).toContain('CaseWare Cloud was not held; nothing changed.');
    await stack.settled('ho1');

    const unknown = await cli(['hold', 'sharepoint'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("'sharepoint' is invalid for argument 'portal'. Allowed choices are caseware, clientOnline.");
  });

  test('approve-mails: nothing held is refused; the first token approves once, again is refused (four eyes), a second token releases', async () => {
    const nothing = await cli(['approve-mails', 'caseware'], env);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('refused (409): no new login of CaseWare Cloud waits for approval');

    // As if the guard had held the contact's creation (its threshold is high in this stack).
    const [contactId] = await company('am1', 1);
    await stack.database.db('credentials_mails').where({ portal: 'caseware', record_type: 'contact', record_id: contactId }).update({ status: 'held', held_at: new Date() });
    const health = await cli(['health'], env);
    expect(health.stdout).toMatch(new RegExp(`^ {4}\\d+ +am1 +contact ${contactId} +\\d{4}-`, 'm'));
    expect(health.stdout).toContain('Approve them with `portal-sync approve-mails caseware`, then a second operator token does the same (four eyes).');

    const first = await cli(['approve-mails', 'caseware'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('Approved once, by api, covering 1 held new login of CaseWare Cloud: a second operator token must approve too (four eyes).');
    const own = await cli(['approve-mails', 'caseware'], env);
    expect(own.code).toBe(2);
    expect(own.stderr).toContain('refused (403): the credentials mails held at CaseWare Cloud were approved first by the built-in token "api" (API_TOKEN); another token with the operator role must approve them too (four eyes)');

    const { secret } = await createApiToken(stack.database.db, { name: 'pieter', role: 'operator' });
    const second = await cli(['approve-mails', 'caseware', '--json'], { ...env, API_TOKEN: secret });
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ status: 'released', firstApprover: 'api', secondApprover: 'pieter', released: 1, clients: 1, stillHeld: 0 });
    expect(await stack.database.db('credentials_mails').where({ portal: 'caseware', record_type: 'contact', record_id: contactId }).first('status')).toEqual({ status: 'approved' });
  });
});

describe('offboarding', () => {
  test('offboard client-leaves: a dry run prints the plan as a table and changes nothing; --execute carries it out to the end', async () => {
    const contacts = await company('ob1', 2);
    const dryRun = await cli(['offboard', 'client-leaves', '--client', 'ob1'], env);
    expect(dryRun.code, dryRun.stderr).toBe(0);
    expect(dryRun.stdout).toContain('Dry run: client-leaves of client ob1 takes 3 steps, in this order. Nothing has been changed.');
    expect(dryRun.stdout).toMatch(/^ {2}step +action +record +client +what$/m);
    expect(dryRun.stdout).toMatch(new RegExp(`^ {2}1 +contact-links-off +contact ${contacts[0]} +ob1 +\\S`, 'm'));
    expect(dryRun.stdout).toMatch(/^ {2}3 +client-former +client ob1 +ob1 +\S/m);
    expect(dryRun.stdout).toMatch(/^ {8}CaseWare Cloud: .+/m);
    expect(dryRun.stdout).toMatch(/^ {8}Client Online: .+/m);
    expect(dryRun.stdout).toContain('It ends 4 accesses: 2 at CaseWare Cloud (contacts losing a client) and 2 at Client Online (logins losing a client; 2 logins deleted).');
    expect(dryRun.stdout).toContain('To carry it out: portal-sync offboard client-leaves --client ob1 --execute');
    expect((await stack.api('GET', '/clients/ob1')).body.status).toBe('client');
    expect((await stack.api('GET', '/offboardings')).body.offboardings).toHaveLength(0);

    const executed = await cli(['offboard', 'client-leaves', '--client', 'ob1', '--execute', '--reason', 'contract ended'], env);
    expect(executed.code, executed.stderr).toBe(0);
    const id = Number(/^Offboarding (\d+) started: 3 steps/m.exec(executed.stdout)?.[1]);
    expect(id).toBeGreaterThan(0);
    // Not a terminal: one plain line per change, never a redraw.
    expect(executed.stdout).not.toContain('\x1b[');
    expect(executed.stdout).toMatch(new RegExp(`^step 1 of 3, contact-links-off contact ${contacts[0]}: done$`, 'm'));
    expect(executed.stdout).toMatch(/^step 3 of 3, client-former client ob1: done$/m);
    // A step that has not started says nothing; the end comes after the last step's "done".
    expect(executed.stdout).not.toMatch(/: pending$/m);
    const lines = executed.stdout.split('\n');
    expect(lines.indexOf(`offboarding ${id}: completed`)).toBeGreaterThan(lines.indexOf('step 3 of 3, client-former client ob1: done'));
    expect(executed.stdout).toMatch(new RegExp(`^Offboarding ${id} completed: 3 of 3 steps done\\.$`, 'm'));
    expect((await stack.api('GET', '/clients/ob1')).body.status).toBe('former');
    expect((await stack.api('GET', `/offboardings/${id}`)).body.reason).toBe('contract ended');

    const shown = await cli(['offboarding', String(id)], env);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`^Offboarding ${id}, client-leaves of client ob1: completed$`, 'm'));
    expect(shown.stdout).toContain('reason: contract ended');
    expect(shown.stdout).toMatch(/✔ +3 +client-former +client ob1 +done/);
  });

  test('cancel: a waiting offboarding stops, changing nothing', async () => {
    // Above startTestStack's OFFBOARDING_APPROVAL_THRESHOLD (the default, 10): 11 contacts lose access.
    await company('ap1', 11);
    const started = await cli(['offboard', 'client-leaves', '--client', 'ap1', '--execute', '--no-follow', '--json'], env);
    expect(started.code, started.stderr).toBe(0);
    const { id, status } = JSON.parse(started.stdout);
    expect(status).toBe('awaiting-approval');
    const cancelled = await cli(['cancel', String(id)], env);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.stdout).toMatch(new RegExp(`^Offboarding ${id} was cancelled by api: 0 of 12 steps done, the rest not run\\.$`, 'm'));
    expect((await stack.api('GET', '/clients/ap1')).body.status).toBe('client');
  }, 120_000);

  test('approve: a plan above the threshold waits; the follower sees it wait, approve carries it out', async () => {
    // The same client as above, offboarded again now that the cancelled plan has let go of it.
    const follower = spawnCli(['offboard', 'client-leaves', '--client', 'ap1', '--execute'], env);
    const waiting = await follower.waitForOutput(/^offboarding (\d+): awaiting approval\. It ends 22 accesses \(CaseWare Cloud 11, Client Online 11\), more than the approval threshold \(10\)\. Approve it with `portal-sync approve (\d+)`/m);
    const id = Number(waiting[1]);
    expect(Number(waiting[2])).toBe(id);
    await follower.waitForOutput(/Four eyes: token "api" asked for it, so a second operator token approves it \(--token or API_TOKEN\)\./);
    expect((await stack.api('GET', `/offboardings/${id}`)).body.status).toBe('awaiting-approval');

    // Four eyes: the built-in token asked for it, so it may not approve it: refused (403), exit 2.
    const own = await cli(['approve', String(id)], env);
    expect(own.code).toBe(2);
    expect(own.stderr).toContain(`refused (403): offboarding ${id} was asked for by the built-in token "api" (API_TOKEN); another token with the operator role must approve it (four eyes)`);
    expect(own.stderr).toContain('`portal-sync tokens create --name <name> --role operator`');
    expect((await stack.api('GET', `/offboardings/${id}`)).body.status).toBe('awaiting-approval');

    // A second person approves with an operator token of their own, given as API_TOKEN.
    const { secret } = await createApiToken(stack.database.db, { name: 'olga', role: 'operator' });
    const approved = await cli(['approve', String(id)], { ...env, API_TOKEN: secret });
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toContain(`Offboarding ${id} approved.`);
    expect(approved.stdout).toMatch(new RegExp(`^Offboarding ${id} completed: 12 of 12 steps done\\.$`, 'm'));
    expect((await stack.api('GET', `/offboardings/${id}`)).body).toMatchObject({ requestedBy: 'api', approvedBy: 'olga' });
    const shown = await cli(['offboarding', String(id), '--token', secret], env);
    expect(shown.stdout).toMatch(/^ {2}approval {4}approved .* by olga$/m);
    const followed = await follower.exited;
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stdout).toMatch(new RegExp(`^offboarding ${id}: running$`, 'm'));
    expect(followed.stdout).toMatch(new RegExp(`^Offboarding ${id} completed`, 'm'));

    // Approving it again is refused by the API: bad input, exit 2.
    const again = await cli(['approve', String(id)], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/refused \(409\): offboarding \d+ has already finished/);
  });

  test('offboardings --json lists them; an unknown offboarding is exit 4', async () => {
    const run = await cli(['offboardings', '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    const list = JSON.parse(run.stdout);
    expect(list.offboardings.map((o: { kind: string; status: string; plan: { clientNumbers: string[] } }) => [o.plan.clientNumbers, o.status])).toEqual(
      expect.arrayContaining([
        [['ob1'], 'completed'],
        [['ap1'], 'completed'],
        [['ap1'], 'cancelled'],
      ]),
    );
    const human = await cli(['offboardings', '--status', 'completed'], env);
    expect(human.stdout).toMatch(/^id +kind +status +clients +steps +requested +finished$/m);
    expect(human.stdout).toMatch(/^\d+ +client-leaves +completed +ap1 +12 /m);

    const unknown = await cli(['offboarding', '999999'], env);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain('not found: offboarding 999999');
    const cancelUnknown = await cli(['cancel', '999999'], env);
    expect(cancelUnknown.code).toBe(4);
  });
});

test('reconcile --wait --json: the run with its report', async () => {
  const run = await cli(['reconcile', '--wait', '--json'], env, { timeoutMs: 120_000 });
  expect(run.code, run.stderr).toBe(0);
  const details = JSON.parse(run.stdout);
  expect(details.status).toBe('completed');
  expect(details.report).toMatchObject({ runId: details.id, dryRun: false, status: 'completed' });
  expect(details.report.portals.map((p: { portal: string }) => p.portal).sort()).toEqual(['caseware', 'clientOnline']);
  expect(details.report.portals.every((p: { checked: number }) => p.checked > 0)).toBe(true);

  const human = await cli(['reconcile', '--wait', '--dry-run'], env, { timeoutMs: 120_000 });
  expect(human.code, human.stderr).toBe(0);
  expect(human.stdout).toMatch(/^reconcile run \d+ \(dry run\): /m);
  expect(human.stdout).toMatch(/^Reconcile run \d+ completed in [\d.]+ s \(dry run: nothing was repaired\)\.$/m);
  expect(human.stdout).toMatch(/^ {2}portal +checked +in sync +drifted +known errors +repaired/m);
  expect(human.stdout).toMatch(/^ {2}CaseWare Cloud +\d+ +\d+/m);
});

test('request-files --grant-answer-role without --contacts asks every contact, and file-request names them', async () => {
  await company('fr1', 2);
  const created = await cli(['request-files', '--client', 'fr1', '--subject', 'Jaarstukken', '--grant-answer-role', '--json'], env);
  expect(created.code, created.stderr).toBe(0);
  const { id } = JSON.parse(created.stdout) as { id: number };
  const shown = await cli(['file-request', String(id)], env);
  expect(shown.code, shown.stderr).toBe(0);
  expect(shown.stdout).toMatch(/^ *contact +name +status/m);
  expect(shown.stdout).toMatch(/C0 Tester +active/);
  expect(shown.stdout).toMatch(/C1 Tester +active/);
});

describe('exit codes of a failed request', () => {
  test('a wrong token: the API refuses it (401), exit 2', async () => {
    const run = await cli(['status', 'st1', '--token', 'not-the-token-0123456789'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('the API refused the token (401)');
    expect(run.stdout).toBe('');
  });

  test('no token anywhere: exit 2 before any request; the token file of a local run is used when there', async () => {
    const noToken = cleanEnv({ PORTAL_SYNC_API_URL: stack.services.apiUrl, DATA_DIR: dataDir });
    const run = await cli(['status', 'st1'], noToken);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no API token');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path.join(dataDir, 'api-token'), `${apiToken}\n`);
    const withFile = await cli(['status', 'st1', '--json'], noToken);
    expect(withFile.code, withFile.stderr).toBe(0);
    expect(JSON.parse(withFile.stdout).clientNumber).toBe('st1');
  });

  test('API_TOKEN_FILE: the token from a mounted secret; a file that cannot be read is named, exit 2', async () => {
    const { writeFileSync } = await import('node:fs');
    const secretFile = path.join(dataDir, 'mounted-secret');
    writeFileSync(secretFile, `  ${apiToken}\n`);
    // An empty DATA_DIR of its own: the token can only come from the file.
    const elsewhere = mkdtempSync(path.join(tmpdir(), 'portal-sync-cli-'));
    try {
      const fromFile = await cli(['status', 'st1', '--json'], cleanEnv({ PORTAL_SYNC_API_URL: stack.services.apiUrl, DATA_DIR: elsewhere, API_TOKEN_FILE: secretFile }));
      expect(fromFile.code, fromFile.stderr).toBe(0);
      expect(JSON.parse(fromFile.stdout).clientNumber).toBe('st1');
      const missing = path.join(elsewhere, 'no-such-secret');
      const unreadable = await cli(['status', 'st1'], cleanEnv({ PORTAL_SYNC_API_URL: stack.services.apiUrl, DATA_DIR: elsewhere, API_TOKEN_FILE: missing }));
      expect(unreadable.code).toBe(2);
      expect(unreadable.stderr).toContain(`API_TOKEN_FILE: cannot read ${missing} (ENOENT)`);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  test('request-files --due in another order: told locally with the format, exit 2; a refusal names each issue once', async () => {
    const dayFirst = await cli(['request-files', '--client', '1001', '--subject', 'Jaarstukken', '--due', '31-01-2027'], env);
    expect(dayFirst.code).toBe(2);
    expect(dayFirst.stderr).toBe(
      "error: option '--due <date>' argument '31-01-2027' is invalid. a date is YYYY-MM-DD (e.g. 2027-01-31, due at the end of that day, UTC) " +
        'or a moment with its offset (2027-01-31T17:00:00+01:00)\n(add --help for usage)\n',
    );
    const noSuchDay = await cli(['request-files', '--client', '1001', '--subject', 'Jaarstukken', '--due', '2027-02-30'], env);
    expect(noSuchDay.code).toBe(2);
    expect(noSuchDay.stderr).toContain('2027-02-30 is no day of the calendar');
    const blankSubject = await cli(['request-files', '--client', '1001', '--subject', ' '], env);
    expect(blankSubject.code).toBe(2);
    expect(blankSubject.stderr.match(/body\.subject/g)).toHaveLength(1);
  });

  test('an API nobody answers at: exit 3', async () => {
    const port = await freePort();
    const run = await cli(['offboardings', '--api-url', `http://127.0.0.1:${port}`], env);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain(`cannot reach the portal-sync API at http://127.0.0.1:${port}: connection refused`);
  });
});
