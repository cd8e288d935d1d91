import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApiToken } from '../../src/api/tokens';
import { chromiumExecutablePath } from '../../src/dev/chromium';
import { apiToken, startTestStack, type TestStack } from '../support/stack';
import { freePort, waitFor } from '../support/temporal';

// The console (issue 11) in a real headless Chromium against the whole stack: sign in, read the
// sync errors, find a client and its status, plan an offboarding, carry it out and follow it to
// the end, approve a held one (four eyes: refused to the token that asked, approved in a second
// browser signed in with an operator token of its own), run the reconcile, and find the client's
// workflow in the Temporal Web UI. Screenshots of every page are kept for a person to look at.

const chromiumPath = chromiumExecutablePath();
const screenshotDir = path.resolve(process.env.CONSOLE_SCREENSHOTS_DIR ?? path.join(__dirname, '..', '..', 'test-artifacts', 'console'));

// Personal data of the scenario: none of it may appear in a URL the console opens or calls.
const company = { clientNumber: '1001', name: 'Bakkerij De Korenschoof B.V.' };
const anna = { firstName: 'Anna', infix: 'van der', lastName: 'Berg', email: 'anna@korenschoof.test' };
const bram = { firstName: 'Bram', lastName: 'Jansen' };
const personalData = [company.name, 'Korenschoof', anna.firstName, anna.lastName, anna.email, bram.firstName, bram.lastName, '@'];
const bigCompany = '2001';
const secondBigCompany = '3001';
const both = { caseware: true, clientOnline: true };

let stack: TestStack;
let browser: Browser;
let page: Page;
let temporalUiUrl: string;
const requestedUrls: string[] = [];
/** The second, operator token's secret (made in the approval test). */
let operatorSecret = 'no-operator-token-yet';
/** The secret of the token made on the Tokens page. */
let madeSecret = 'no-token-made-yet';

async function screenshot(name: string, target: Page = page) {
  await target.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: true });
}

/** Goes to a console page through its navigation, as a person would. */
async function openPage(label: string) {
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: label, exact: true }).click();
  await expect.poll(() => page.getByRole('heading', { level: 1 }).first().textContent()).toBeTruthy();
}

const chromiumMissing = () =>
  `Chromium is not installed at ${chromiumPath}: the console's browser test needs it. ` +
  '`npm test` installs it before the tests (`apt-get install -y chromium`, as root), or set CHROMIUM_PATH.';

// Outside the browser tests' describe, so that a machine without Chromium fails here, by name,
// and not only in their set-up.
test('headless Chromium is installed', () => {
  expect(existsSync(chromiumPath), chromiumMissing()).toBe(true);
});

describe('the console, in a browser', () => {
  beforeAll(async () => {
    if (!existsSync(chromiumPath)) {
      throw new Error(chromiumMissing());
    }
    mkdirSync(screenshotDir, { recursive: true });
    // The console links to the Temporal Web UI the API names; here the test stack's own.
    const uiPort = await freePort();
    temporalUiUrl = `http://127.0.0.1:${uiPort}`;
    process.env.TEMPORAL_UI_URL = temporalUiUrl;
    [stack, browser] = await Promise.all([
      startTestStack({ temporalUiPort: uiPort }),
      chromium.launch({ executablePath: chromiumPath, headless: true }),
    ]);

    const client = await stack.api('POST', '/clients', { clientNumber: company.clientNumber, kind: 'company', name: company.name, links: both });
    expect(client.status).toBe(201);
    for (const contact of [anna, bram]) {
      const response = await stack.api('POST', `/clients/${company.clientNumber}/contacts`, { ...contact, links: both });
      expect(response.status).toBe(201);
    }
    // Companies big enough that offboarding them waits for approval (more than 10 accesses and logins).
    for (const number of [bigCompany, secondBigCompany]) {
      expect((await stack.api('POST', '/clients', { clientNumber: number, kind: 'company', name: `Groothandel ${number}`, links: both })).status).toBe(201);
      for (let i = 0; i < 6; i += 1) {
        expect((await stack.api('POST', `/clients/${number}/contacts`, { email: `c${i}@groothandel-${number}.test`, links: both })).status).toBe(201);
      }
    }
    await Promise.all([company.clientNumber, bigCompany, secondBigCompany].map((number) => stack.settled(number)));

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('request', (request) => requestedUrls.push(request.url()));
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    delete process.env.TEMPORAL_UI_URL;
  });

  test('signing in: a wrong token is refused, the right one is kept in the tab only', async () => {
    await page.goto(`${stack.services.apiUrl}/console`);
    expect(new URL(page.url()).pathname).toBe('/console/');
    await expect.poll(() => page.getByRole('heading', { name: 'portal-sync console' }).isVisible()).toBe(true);
    await screenshot('01-sign-in');

    await page.getByLabel('API token').fill('not-the-token-at-all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('This token was not accepted').waitFor();
    // Only that notice: the token never worked, so nothing "no longer" accepts it (issue 21).
    expect(await page.getByText('no longer accepts').count()).toBe(0);

    await page.getByLabel('API token').fill(apiToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Portal health', level: 1 }).waitFor();
    expect(await page.evaluate('Object.values(sessionStorage)')).toEqual([apiToken]);
    expect(await page.evaluate('document.cookie')).toBe('');
  });

  test('portal health: both portals work', async () => {
    for (const portal of ['CaseWare Cloud', 'Client Online']) {
      const card = page.locator('.portal-card', { has: page.getByRole('heading', { name: portal }) });
      await card.getByText('Working').waitFor();
    }
    await screenshot('02-portal-health');
  });

  test('portal health: an operator holds CaseWare Cloud and releases it', async () => {
    const card = page.locator('.portal-card[data-portal="caseware"]');
    await card.getByLabel(/Note/).fill('maintenance window');
    page.once('dialog', (dialog) => void dialog.accept());
    await card.getByRole('button', { name: 'Hold CaseWare Cloud' }).click();
    await card.getByText('Held by api').waitFor();
    await card.getByText(/maintenance window/).waitFor();
    expect(await card.locator('.badge', { hasText: 'Held' }).count()).toBe(1);
    expect((await stack.api('GET', '/sync/health')).body.caseware.hold).toMatchObject({ heldBy: 'api', note: 'maintenance window' });
    await screenshot('02b-portal-held');

    await card.getByRole('button', { name: 'Release CaseWare Cloud' }).click();
    await card.getByRole('button', { name: 'Hold CaseWare Cloud' }).waitFor();
    await card.getByText(/^Released: \d+ clients? syncs? now\.$/).waitFor();
    expect((await stack.api('GET', '/sync/health')).body.caseware.hold).toBeNull();
  });

  test('portal health: held new logins are listed by id, and approved by two tokens (four eyes)', async () => {
    // As if the guard had held one (its threshold is high in the test stack): a contact of the company.
    const contactId = (await stack.api('GET', `/clients/${company.clientNumber}`)).body.contacts[0].id as number;
    await stack.database.db('credentials_mails').where({ portal: 'caseware', record_type: 'contact', record_id: contactId }).update({ status: 'held', held_at: new Date() });
    await page.locator('.page-header').getByRole('button', { name: 'Refresh' }).click();
    const card = page.locator('.portal-card[data-portal="caseware"]');
    await card.getByText('1 new login waits for approval').waitFor();
    const row = card.locator('table.held-creations tbody tr');
    expect(await row.count()).toBe(1);
    expect(await row.locator('td').nth(1).textContent()).toBe(company.clientNumber);
    expect(await row.locator('td').nth(2).textContent()).toBe(`Contact ${contactId}`);

    await card.getByRole('button', { name: 'Approve the held new logins' }).click();
    await card.getByText(/^Approved once, by api/).waitFor();
    await card.getByRole('button', { name: 'Approve the held new logins' }).click();
    await card.locator('.four-eyes[role="alert"]').getByText('You may not approve these new logins again: a second token is needed.').waitFor();
    await screenshot('02c-held-new-logins');

    const { secret } = await createApiToken(stack.database.db, { name: 'hanna', role: 'operator' });
    const second = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const other = await second.newPage();
      other.setDefaultTimeout(15_000);
      other.on('request', (request) => requestedUrls.push(request.url()));
      await other.goto(`${stack.services.apiUrl}/console`);
      await other.getByLabel('API token').fill(secret);
      await other.getByRole('button', { name: 'Sign in' }).click();
      const otherCard = other.locator('.portal-card[data-portal="caseware"]');
      await otherCard.getByRole('button', { name: 'Approve the held new logins' }).click();
      await otherCard.getByText(/approved by "api" and "hanna": 1 new login of CaseWare Cloud created now, each mailed once/).waitFor();
    } finally {
      await second.close();
    }
    expect((await stack.api('GET', '/sync/health')).body.caseware.credentialsMails).toMatchObject({ held: 0, approval: null });
    await stack.settled(company.clientNumber);
  });

  test('sync errors: the contact without email, with what to do; filtered by portal', async () => {
    await openPage('Sync errors');
    const row = page.locator('.errors-table tbody tr', { hasText: 'CaseWare Cloud' }).filter({ hasText: 'No email address' });
    await row.waitFor();
    await expect.poll(() => row.locator('td').nth(1).textContent()).toBe(company.clientNumber);
    expect(await row.textContent()).toMatch(/Open/);

    await page.getByLabel('Portal').selectOption('caseware');
    await page.getByRole('button', { name: 'Show' }).click();
    await expect.poll(() => new URL(page.url()).hash).toBe('#/errors?portal=caseware');
    await page.getByText(/^\d+ errors?$/).waitFor();
    // The filtered list replaces the whole one once its answer is in.
    const portals = () => page.locator('.errors-table tbody tr td:nth-child(3)').allTextContents();
    await expect.poll(async () => [...new Set(await portals())]).toEqual(['CaseWare Cloud']);
    await screenshot('03-sync-errors');
  });

  test("a client's status: what each portal holds, its errors, and its workflow in the Temporal Web UI", async () => {
    await openPage('Clients');
    await page.getByLabel('Client number').fill(company.clientNumber);
    await page.getByRole('button', { name: 'Show status' }).click();
    await page.getByRole('heading', { name: `Client ${company.clientNumber}` }).waitFor();
    expect(new URL(page.url()).hash).toBe(`#/clients/${company.clientNumber}`);

    const caseware = page.locator('.portal-status[data-portal="caseware"]');
    const clientOnline = page.locator('.portal-status[data-portal="clientOnline"]');
    await caseware.getByText('Has sync errors').waitFor();
    await caseware.getByText('No email address', { exact: true }).waitFor();
    // The entity and Anna's user have CaseWare ids; they are listed with their access.
    const cwEntity = (await stack.simState()).entities.find((e) => e.EntityNo === company.clientNumber)!;
    await caseware.getByText(cwEntity.CWGuid).waitFor();
    expect(await caseware.getByText('Has access').count()).toBeGreaterThanOrEqual(2);
    await clientOnline.locator('.badge').first().waitFor();

    const workflowLink = page.locator('a.temporal-workflow');
    expect(await workflowLink.getAttribute('href')).toBe(`${temporalUiUrl}/namespaces/default/workflows/client-${company.clientNumber}`);
    expect(await page.locator('a.temporal-search').getAttribute('href')).toBe(
      `${temporalUiUrl}/namespaces/default/workflows?query=${encodeURIComponent(`ClientNumber="${company.clientNumber}"`)}`,
    );
    await screenshot('04-client-status');

    // The link opens the client's workflow in the Temporal Web UI, in a new tab.
    const [workflowPage] = await Promise.all([page.waitForEvent('popup'), workflowLink.click()]);
    await workflowPage.getByText(`client-${company.clientNumber}`, { exact: true }).first().waitFor({ timeout: 30_000 });
    await workflowPage.getByText('clientSyncWorkflow').first().waitFor();
    await screenshot('05-temporal-ui-client-workflow', workflowPage);
    await workflowPage.close();
  });

  test('an offboarding: the dry-run plan as steps, carried out and followed to completed', async () => {
    await page.getByRole('link', { name: 'Offboard this client…' }).click();
    await page.getByRole('heading', { name: 'New offboarding' }).waitFor();
    expect(await page.getByRole('radio', { name: /A company stops as a client/ }).isChecked()).toBe(true);
    expect(await page.getByLabel('Company client number').inputValue()).toBe(company.clientNumber);
    await page.getByLabel(/Reason/).fill('contract ended');
    await page.getByRole('button', { name: 'Show the plan (dry run)' }).click();

    const steps = page.locator('ol.steps > li');
    await steps.first().waitFor();
    const plan = (await stack.api('POST', '/offboardings', { kind: 'client-leaves', clientNumber: company.clientNumber })).body.plan;
    expect(await steps.count()).toBe(plan.steps.length);
    expect(await steps.first().textContent()).toContain("Switch off the contact's portal links");
    expect(await steps.last().textContent()).toContain(`Make client ${company.clientNumber} a former client`);
    expect(await steps.first().locator('.effect[data-portal="caseware"]').textContent()).toContain('CaseWare Cloud');
    // The page names the plan's contacts (read by id); the plan itself carries ids only.
    await steps.first().getByText(`is ${anna.firstName} ${anna.infix} ${anna.lastName}`).waitFor();
    await screenshot('06-offboarding-plan');

    await page.getByRole('button', { name: 'Carry it out' }).click();
    await page.getByRole('heading', { name: /^Offboarding \d+$/ }).waitFor();
    const id = /#\/offboardings\/(\d+)$/.exec(page.url())?.[1];
    expect(id).toBeDefined();
    await page.locator('.page-header').getByText('Completed').waitFor({ timeout: 60_000 });
    expect(await page.locator('ol.steps > li .badge').allTextContents()).toEqual(plan.steps.map(() => 'Done'));
    await page.getByText(`${plan.steps.length} of ${plan.steps.length} steps done`).waitFor();
    const record = (await stack.api('GET', `/offboardings/${id}`)).body;
    expect(record.status).toBe('completed');
    expect(record.reason).toBe('contract ended');
    await screenshot('07-offboarding-completed');
  });

  test('a large offboarding waits for approval and finishes once approved', async () => {
    await openPage('Offboardings');
    await page.getByRole('link', { name: 'New offboarding…' }).click();
    await page.getByRole('radio', { name: /A company stops as a client/ }).check();
    await page.getByLabel('Company client number').fill(bigCompany);
    await page.getByRole('button', { name: 'Show the plan (dry run)' }).click();
    await page.locator('ol.steps > li').first().waitFor();
    await page.getByRole('button', { name: 'Carry it out' }).click();

    await page.getByText('This offboarding waits for approval.').waitFor();
    await page.getByText(/Four eyes: token “api” asked for it/).waitFor();
    await page.locator('.page-header').getByText('Waiting for approval').waitFor();
    expect(await page.locator('ol.steps > li .badge').allTextContents()).toEqual(expect.arrayContaining(['Not started']));
    await screenshot('08-offboarding-awaiting-approval');
    const id = /#\/offboardings\/(\d+)$/.exec(page.url())?.[1];
    expect(id).toBeDefined();

    // Four eyes: the built-in token asked for it, so it is not offered the approval (the API would refuse it).
    const approve = page.getByRole('button', { name: 'Approve' });
    expect(await approve.isDisabled()).toBe(true);
    expect(await approve.getAttribute('title')).toBe('You asked for this offboarding (token “api”): another token with the operator role must approve it (four eyes).');
    await page.locator('.own-request').getByText('You asked for this offboarding (token “api”)', { exact: false }).waitFor();
    expect(await page.getByRole('button', { name: 'Cancel the offboarding' }).isDisabled()).toBe(false);
    await screenshot('08b-offboarding-approve-refused');
    expect((await stack.api('GET', `/offboardings/${id}`)).body).toMatchObject({ status: 'awaiting-approval', approvedBy: null });

    // A second person, in a browser of their own, signs in with their own operator token and approves.
    const { secret } = await createApiToken(stack.database.db, { name: 'olga', role: 'operator' });
    operatorSecret = secret;
    const operatorContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const operator = await operatorContext.newPage();
      operator.setDefaultTimeout(15_000);
      operator.on('request', (request) => requestedUrls.push(request.url()));
      await operator.goto(`${stack.services.apiUrl}/console/#/offboardings/${id}`);
      await operator.getByLabel('API token').fill(secret);
      await operator.getByRole('button', { name: 'Sign in' }).click();
      await operator.getByRole('heading', { name: `Offboarding ${id}` }).waitFor();
      await operator.getByRole('button', { name: 'Approve' }).click();
      await operator.locator('.page-header').getByText('Completed').waitFor({ timeout: 60_000 });
      await operator.getByText(/approved by olga/).waitFor();
      await screenshot('08c-offboarding-approved-by-second-token', operator);
    } finally {
      await operatorContext.close();
    }
    // The first tab follows it too.
    await page.locator('.page-header').getByText('Completed').waitFor({ timeout: 30_000 });
    await page.getByText(/approved by olga/).waitFor();
    expect((await stack.api('GET', `/offboardings/${id}`)).body).toMatchObject({ requestedBy: 'api', approvedBy: 'olga' });
    expect((await stack.api('GET', `/clients/${bigCompany}`)).body.status).toBe('former');
  });

  test('a held offboarding can be cancelled: nothing is changed', async () => {
    await openPage('Offboardings');
    await page.getByRole('link', { name: 'New offboarding…' }).click();
    await page.getByLabel('Company client number').fill(secondBigCompany);
    await page.getByRole('button', { name: 'Show the plan (dry run)' }).click();
    await page.getByRole('button', { name: 'Carry it out' }).click();
    await page.getByText('This offboarding waits for approval.').waitFor();

    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Cancel the offboarding' }).click();
    await page.getByText('Cancelled by').waitFor({ timeout: 30_000 });
    await expect.poll(() => page.locator('ol.steps > li .badge').allTextContents(), { timeout: 30_000 }).toEqual(Array.from({ length: 7 }, () => 'Not run'));
    await expect.poll(() => page.getByRole('button', { name: 'Cancel the offboarding' }).count()).toBe(0);
    const id = /#\/offboardings\/(\d+)$/.exec(page.url())?.[1];
    const record = (await stack.api('GET', `/offboardings/${id}`)).body;
    expect(record).toMatchObject({ cancelledBy: 'api', finishedAt: expect.any(String) });
    expect((await stack.api('GET', `/clients/${secondBigCompany}`)).body.status).toBe('client');
    await screenshot('09-offboarding-cancelled');

    await openPage('Offboardings');
    await expect.poll(() => page.locator('table tbody tr').count()).toBe(3);
    await screenshot('10-offboardings');
  });

  test('the reconcile: pause and resume the schedule, run now, follow the run to its report', async () => {
    await openPage('Reconcile');
    await page.getByText('Runs every hour').waitFor();
    await page.getByLabel(/Note/).fill('portal maintenance');
    await page.getByRole('button', { name: 'Pause the schedule' }).click();
    await page.getByText('Paused', { exact: true }).waitFor();
    expect((await stack.api('GET', '/reconcile/schedule')).body).toMatchObject({ paused: true, note: 'portal maintenance' });
    await page.getByRole('button', { name: 'Resume the schedule' }).click();
    await page.getByText('Runs every hour').waitFor();
    expect((await stack.api('GET', '/reconcile/schedule')).body.paused).toBe(false);

    await page.getByRole('button', { name: 'Run now' }).click();
    await page.getByRole('heading', { name: /^Reconcile run \d+$/ }).waitFor();
    await page.locator('.page-header').getByText('Completed').waitFor({ timeout: 60_000 });
    await page.locator('table.report tbody tr', { hasText: 'CaseWare Cloud' }).waitFor();
    await page.getByRole('heading', { name: 'Orphans' }).waitFor();
    await screenshot('11-reconcile-run');

    await page.getByRole('link', { name: '← All runs' }).click();
    await page.locator('table tbody tr', { hasText: 'Asked for (run now)' }).waitFor();
    await screenshot('12-reconcile');

    // Compare only: the go-live preview reads as a plan, per portal.
    await page.getByRole('button', { name: 'Compare only' }).click();
    await page.getByRole('heading', { name: /^Reconcile run \d+ \(compare only\)$/ }).waitFor();
    await page.locator('.page-header').getByText('Completed').waitFor({ timeout: 60_000 });
    await page.getByRole('heading', { name: 'What the next syncs would do' }).waitFor();
    for (const portal of ['CaseWare Cloud', 'Client Online']) await page.locator('table.outlook tbody tr', { hasText: portal }).waitFor();
    expect(await page.locator('table.outlook thead').textContent()).toContain('Credentials mails');
    await screenshot('13-reconcile-outlook');
    await page.getByRole('link', { name: '← All runs' }).click();
  });

  test('tokens: an admin makes one, its secret shown once, and revokes it', async () => {
    await page.locator('.signed-in-as', { hasText: 'Signed in as api (every role)' }).waitFor();
    await openPage('Tokens');
    const form = page.getByRole('form', { name: 'Make a token' });
    await form.getByLabel('Name').fill('piet');
    await form.getByLabel('Role').selectOption('viewer');
    await form.getByRole('button', { name: 'Make the token' }).click();
    await page.getByText('Token "piet" made, with the viewer role.').waitFor();
    madeSecret = (await page.locator('.token-secret code').textContent()) ?? '';
    expect(madeSecret).toMatch(/^pst_[A-Za-z0-9_-]{43}$/);
    expect((await fetch(`${stack.services.apiUrl}/sync/health`, { headers: { authorization: `Bearer ${madeSecret}` } })).status).toBe(200);
    const row = page.locator('table.tokens-table tbody tr', { hasText: 'piet' });
    await row.getByText('In use').waitFor();
    await screenshot('14-tokens-secret-once');

    // Put away, the secret is gone for good: not on the page, nor anywhere in the list.
    await page.getByRole('button', { name: 'I have copied it' }).click();
    expect(await page.locator('.token-secret').count()).toBe(0);
    expect(await page.content()).not.toContain(madeSecret);

    page.once('dialog', (dialog) => void dialog.accept());
    await row.getByRole('button', { name: 'Revoke piet' }).click();
    await expect.poll(() => row.count()).toBe(0);
    expect((await fetch(`${stack.services.apiUrl}/sync/health`, { headers: { authorization: `Bearer ${madeSecret}` } })).status).toBe(401);
    await page.getByLabel('Also show revoked tokens').check();
    await page.locator('table.tokens-table tbody tr', { hasText: 'piet' }).getByText('Revoked').waitFor();
    await screenshot('15-tokens');
  });

  test('audit: what each token did, with record ids and field names; filtered by token', async () => {
    await openPage('Audit');
    const rows = page.locator('table.audit-table tbody tr');
    await rows.filter({ hasText: 'PUT /reconcile/schedule' }).first().waitFor();
    await rows.filter({ hasText: 'DELETE /tokens/:name' }).first().getByText('piet').waitFor();
    await rows.filter({ hasText: 'POST /offboardings/:id/approve' }).first().waitFor();
    await screenshot('16-audit');

    await page.getByRole('form', { name: 'Filter the audit' }).getByLabel('Token').fill('hanna');
    await page.getByRole('button', { name: 'Show' }).click();
    await expect.poll(async () => new Set(await rows.locator('td:nth-child(2)').allTextContents())).toEqual(new Set(['hanna']));
    expect(await rows.filter({ hasText: 'POST /sync/portals/:portal/approve-mails' }).count()).toBe(1);
    // The values the scenario sent (names, email addresses) are nowhere on the page.
    for (const value of personalData) expect(await page.locator('main').textContent()).not.toContain(value);
    await screenshot('17-audit-of-a-token');
  });

  test('no personal data and no token in any URL the console opened or called', async () => {
    expect(requestedUrls.length).toBeGreaterThan(10);
    for (const url of requestedUrls) {
      const decoded = decodeURIComponent(url);
      expect(decoded).not.toContain(apiToken);
      expect(decoded).not.toContain(operatorSecret);
      expect(decoded).not.toContain(madeSecret);
      for (const value of personalData) expect(decoded, url).not.toContain(value);
    }
  });

  test('signing out forgets the token', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });

  test("the Temporal Web UI finds the client's workflow by its search attribute", async () => {
    const ui = await page.context().newPage();
    const listQuery = `ClientNumber="${company.clientNumber}"`;
    await waitFor('the Temporal Web UI to answer', async () => (await fetch(temporalUiUrl)).ok, { timeoutMs: 30_000 });
    await ui.goto(`${temporalUiUrl}/namespaces/default/workflows?query=${encodeURIComponent(listQuery)}`);
    await ui.getByText(`client-${company.clientNumber}`, { exact: true }).first().waitFor({ timeout: 30_000 });
    expect(await ui.getByText(`client-${bigCompany}`, { exact: true }).count()).toBe(0);
    await screenshot('13-temporal-ui-workflows-of-client', ui);
    await ui.close();
  });
});
