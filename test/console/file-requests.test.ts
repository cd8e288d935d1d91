import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createApiToken } from '../../src/api/tokens';
import { chromiumExecutablePath } from '../../src/dev/chromium';
import { loadDemoClients } from '../../src/dev/demo-data';
import type { FileRequestSimState } from '../../src/simulators/caseware/simulator';
import { startTestStack, type TestStack } from '../support/stack';
import { waitFor } from '../support/temporal';

// Issue 21 item 3: an operator asks a demo client for files in the console without knowing JSON or
// contact ids. The demo clients (src/dev/demo-data.ts) on the whole test stack: the sync shares
// every linked contact under "Contact - Entity Access", which may only view; client 1002's Eva
// Smit has no email address, so CaseWare Cloud has no login for her.

const chromiumPath = chromiumExecutablePath();
const screenshotDir = path.resolve(process.env.CONSOLE_SCREENSHOTS_DIR ?? path.join(__dirname, '..', '..', 'test-artifacts', 'console'));

let stack: TestStack;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!existsSync(chromiumPath)) throw new Error(`Chromium is not installed at ${chromiumPath}`);
  mkdirSync(screenshotDir, { recursive: true });
  [stack, browser] = await Promise.all([
    startTestStack({ fileRequestTimings: { pollIntervalMs: 500, remindBeforeDueMs: [], remindAfterDueEveryMs: 60_000, maxRemindersAfterDue: 0, remindWithoutDueEveryMs: 0 } }),
    chromium.launch({ executablePath: chromiumPath, headless: true }),
  ]);
  expect(await loadDemoClients(stack.database.db)).toBe(true);
  await Promise.all(['1001', '1002'].map((number) => stack.settled(number)));
  const { secret } = await createApiToken(stack.database.db, { name: 'olga', role: 'operator' });
  page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(`${stack.services.apiUrl}/console/`);
  await page.getByLabel('API token').fill(secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.signed-in-as').waitFor();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const form = () => page.getByRole('form', { name: 'New file request' });
const row = (name: string) => form().getByRole('row').filter({ has: page.getByRole('checkbox', { name, exact: true }) });

async function showContacts(clientNumber: string, firstName: string): Promise<void> {
  await form().getByLabel('Client number').fill(clientNumber);
  await form().getByRole('button', { name: 'Show contacts' }).click();
  await row(firstName).waitFor();
}

async function cells(locator: Locator): Promise<string[]> {
  return (await locator.getByRole('cell').allInnerTexts()).map((text) => text.replace(/\s+/g, ' ').trim());
}

const simFileRequests = async () => ((await (await fetch(`${stack.simulator.origin}/_sim/file-requests`)).json()) as FileRequestSimState).fileRequests;
const userGuid = async (email: string) => (await stack.simState()).users.find((u) => u.Email === email)?.CWGuid;

test('an operator sees a client\'s contacts with why each may answer or not, ticks two, gives them the answering role and sends', async () => {
  await page.goto(`${stack.services.apiUrl}/console/#/file-requests`);
  await page.getByRole('heading', { name: 'Ask a client for files' }).waitFor();
  await page.getByText('Enter a client number and choose Show contacts').waitFor();

  // Client 1002: Chris may only view; Dirk shares Chris's email, so CaseWare Cloud has no login
  // for him; Eva has no email address at all: not "not linked", and she cannot be ticked.
  await showContacts('1002', 'Chris Visser');
  const contacts = await stack.api('GET', '/clients/1002');
  const id = (firstName: string) => contacts.body.contacts.find((c: { firstName: string }) => c.firstName === firstName).id as number;
  expect(await cells(row('Chris Visser'))).toEqual([
    'Chris Visser',
    String(id('Chris')),
    'May only view may only view (Contact - Entity Access); may answer once given Contact - Entity Staff',
  ]);
  expect(await cells(row('Dirk Visser'))).toEqual(['Dirk Visser', String(id('Dirk')), 'Cannot answer no CaseWare login (a sync error: see Sync errors)']);
  expect(await cells(row('Eva Smit'))).toEqual(['Eva Smit', String(id('Eva')), 'Cannot answer no CaseWare login (no email address)']);
  expect(await page.getByRole('checkbox', { name: 'Eva Smit' }).isDisabled()).toBe(true);
  expect(await page.getByRole('checkbox', { name: 'Chris Visser' }).isDisabled()).toBe(false);
  await page.screenshot({ path: path.join(screenshotDir, '10-file-request-contacts.png'), fullPage: true });

  // Client 1001: Anna and Bram may only view. Ticked without the answering role, the form warns.
  await showContacts('1001', 'Anna Jansen');
  expect(await row('Chris Visser').count()).toBe(0);
  await page.getByRole('checkbox', { name: 'Anna Jansen' }).check();
  await page.getByText('Anna Jansen may only view: give the answering role below, or the request is refused.').waitFor();
  await page.getByRole('checkbox', { name: 'Bram de Boer' }).check();
  await page.getByRole('checkbox', { name: 'Give the answering role (Contact - Entity Staff) to those who may only view' }).check();
  expect(await page.getByText('may only view: give the answering role below').count()).toBe(0);
  await form().getByLabel('Subject').fill('Jaarstukken 2026');
  await form().getByLabel('Description').fill('Graag de jaarstukken uploaden.');
  await form().getByRole('button', { name: 'Send the request' }).click();

  const notice = page.getByRole('status').filter({ hasText: 'was sent to' });
  await notice.waitFor();
  const sent = /^File request (\d+) was sent to 2 contacts\.$/.exec((await notice.innerText()).trim());
  expect(sent).not.toBeNull();
  expect(await notice.locator('.notice-good').count()).toBe(1);
  const requestId = Number(sent?.[1]);
  const listed = page.getByRole('row').filter({ has: page.getByRole('cell', { name: 'Jaarstukken 2026' }) });
  await listed.waitFor();
  expect(await listed.getByRole('cell').nth(6).innerText()).toBe('Anna Jansen, Bram de Boer');
  await page.screenshot({ path: path.join(screenshotDir, '11-file-request-sent.png'), fullPage: true });

  // CaseWare Cloud holds the request for exactly Anna and Bram, who now have the answering role.
  await waitFor('the request in CaseWare Cloud', async () => (await stack.api('GET', `/file-requests/${requestId}`)).body.remoteId !== null);
  const { remoteId } = (await stack.api('GET', `/file-requests/${requestId}`)).body;
  const held = (await simFileRequests()).find((r) => r.CWGuid === remoteId);
  expect(held?.Subject).toBe('Jaarstukken 2026');
  expect(held?.Recipients.sort()).toEqual([await userGuid('anna@bakkerij.example'), await userGuid('bram@bakkerij.example')].sort());
}, 90_000);

test('one contact ticked: "sent to 1 contact"; the form is empty again after sending', async () => {
  await showContacts('1002', 'Chris Visser');
  await page.getByRole('checkbox', { name: 'Chris Visser' }).check();
  await page.getByRole('checkbox', { name: 'Give the answering role (Contact - Entity Staff) to those who may only view' }).check();
  await form().getByLabel('Subject').fill('Loonstroken');
  await form().getByRole('button', { name: 'Send the request' }).click();
  await page.getByRole('status').filter({ hasText: /File request \d+ was sent to 1 contact\.$/ }).waitFor();
  expect(await form().getByLabel('Client number').inputValue()).toBe('');
  expect(await form().getByLabel('Subject').inputValue()).toBe('');
  const listed = page.getByRole('row').filter({ has: page.getByRole('cell', { name: 'Loonstroken' }) });
  await listed.waitFor();
  expect(await listed.getByRole('cell').nth(6).innerText()).toBe('Chris Visser');
}, 60_000);
