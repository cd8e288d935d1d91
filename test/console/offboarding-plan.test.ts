import { existsSync } from 'node:fs';
import { Client } from '@temporalio/client';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { chromiumExecutablePath } from '../../src/dev/chromium';
import { createOffboarding } from '../../src/registry/offboardings';
import { apiToken, startApi, type ApiHarness } from '../api/harness';

// Issue 21, item 5 (and the offboarding pages' plurals of item 6): the dry-run plan says, before it
// is carried out, whether it will wait for a second operator's approval, and that an offboarding of
// the same client is already under way, with a link to it. The API alone, with an approval
// threshold of 5: a dry run never calls Temporal, so its client is a lazy one that never connects.

const chromiumPath = chromiumExecutablePath();
const both = { caseware: true, clientOnline: true };
const temporal = new Client();

let api: ApiHarness;
let baseUrl: string;
let browser: Browser;
let page: Page;
let waitingId: number;
let oneStepId: number;
let lonelyContact: number;

/** A company with `contacts` contacts linked to both portals: leaving ends 2 accesses per contact. */
async function company(clientNumber: string, contacts: number): Promise<number[]> {
  expect((await api.call('POST', '/clients', { clientNumber, kind: 'company', name: `Company ${clientNumber}`, links: both })).statusCode).toBe(201);
  const ids: number[] = [];
  for (let i = 0; i < contacts; i += 1) {
    const response = await api.call('POST', `/clients/${clientNumber}/contacts`, { email: `c${i}@${clientNumber}.test`, links: both });
    expect(response.statusCode).toBe(201);
    ids.push(response.json<{ id: number }>().id);
  }
  return ids;
}

beforeAll(async () => {
  if (!existsSync(chromiumPath)) throw new Error(`Chromium is not installed at ${chromiumPath}`);
  api = await startApi({ offboarding: { temporal, taskQueue: 'never-used', approvalThreshold: 5, approvalWindowMs: 24 * 3_600_000 } });
  baseUrl = await api.app.listen({ host: '127.0.0.1', port: 0 });
  browser = await chromium.launch({ executablePath: chromiumPath, headless: true });
  await company('4001', 4);
  [lonelyContact] = (await company('4002', 1)) as [number];
  await company('4003', 1);
  const [held] = (await company('4004', 1)) as [number];
  // Another operator asked for 4003's offboarding; it waits for approval.
  const waiting = await createOffboarding(api.db, { request: { kind: 'client-leaves', clientNumber: '4003' }, requestedBy: 'anna', approvalThreshold: 0 });
  expect(waiting.status).toBe('awaiting-approval');
  waitingId = waiting.id;
  const oneStep = await createOffboarding(api.db, {
    request: { kind: 'revoke-contact-access', contactId: held, portals: ['clientOnline'] },
    requestedBy: 'olga',
    approvalThreshold: 5,
  });
  expect(oneStep.plan.steps).toHaveLength(1);
  oneStepId = oneStep.id;

  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(15_000);
  await page.goto(`${baseUrl}/console/`);
  await page.getByLabel('API token').fill(apiToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.signed-in-as').waitFor();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
  await temporal.connection.close();
});

/** Opens the new-offboarding page for a company leaving and asks for the dry run. */
async function planClientLeaving(clientNumber: string): Promise<void> {
  await page.goto(`${baseUrl}/console/#/offboardings/new?kind=client-leaves&clientNumber=${clientNumber}`);
  await page.getByRole('heading', { name: 'New offboarding', level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Show the plan (dry run)' }).click();
  await page.getByRole('heading', { name: 'The plan' }).waitFor();
  await page.locator('ol.steps > li').first().waitFor();
}

const carryItOut = () => page.getByRole('button', { name: 'Carry it out' });

test('a plan that ends more accesses than the threshold says, before it is carried out, that it will wait for approval', async () => {
  await planClientLeaving('4001');
  const outlook = page.locator('.approval-outlook');
  expect(await outlook.getAttribute('data-approval')).toBe('required');
  expect(await outlook.textContent()).toBe(
    "This plan ends 8 accesses; carried out, it will wait for a second operator's approval before anything changes. " +
      'It ends 8 accesses (CaseWare Cloud 4, Client Online 4), more than the approval threshold (5). Another token with the operator role approves it (four eyes).',
  );
  expect(await carryItOut().isDisabled()).toBe(false);
  expect(await page.locator('.already-under-way').count()).toBe(0);
});

test('a plan within the threshold says it starts at once, not that it will wait', async () => {
  await planClientLeaving('4002');
  const outlook = page.locator('.approval-outlook');
  expect(await outlook.getAttribute('data-approval')).toBe('not-required');
  expect(await outlook.textContent()).toBe('This plan ends 2 accesses, within the approval threshold (5): carried out, it starts at once, without waiting for approval.');
  expect(await page.getByText(/will wait for a second operator's approval/).count()).toBe(0);
  expect(await page.locator('.card-intro').filter({ hasText: '2 steps, in this order' }).count()).toBe(1);
});

test('a plan of one step ending one access says so in the singular', async () => {
  await page.goto(`${baseUrl}/console/#/offboardings/new?kind=revoke-contact-access&contactId=${lonelyContact}`);
  await page.getByRole('heading', { name: 'New offboarding', level: 1 }).waitFor();
  await page.getByLabel('CaseWare Cloud').uncheck();
  await page.getByRole('button', { name: 'Show the plan (dry run)' }).click();
  await page.locator('ol.steps > li').first().waitFor();
  expect(await page.locator('ol.steps > li').count()).toBe(1);
  await page.getByText('1 step, in this order.', { exact: false }).waitFor();
  expect((await page.locator('.removes').textContent())?.trim()).toBe(
    'This plan ends 1 access: 0 at CaseWare Cloud (contacts losing a client) and 1 at Client Online (a login losing a client; 1 login is deleted).',
  );
  expect(await page.locator('.approval-outlook').textContent()).toContain('This plan ends 1 access, within the approval threshold (5)');
});

test('a dry run for a client with an offboarding waiting for approval says so, links to it, and is not offered to be carried out', async () => {
  await planClientLeaving('4003');
  const underWay = page.locator('.already-under-way');
  expect(await underWay.textContent()).toBe(
    `Offboarding ${waitingId} for this client is already waiting for approval. This plan cannot be carried out until it has finished or is cancelled.`,
  );
  const link = underWay.getByRole('link', { name: `Offboarding ${waitingId}` });
  expect(await link.getAttribute('href')).toBe(`#/offboardings/${waitingId}`);
  expect(await carryItOut().isDisabled()).toBe(true);
  expect(await carryItOut().getAttribute('title')).toBe(`Offboarding ${waitingId} holds these records; it must finish or be cancelled first.`);

  await link.click();
  await page.getByRole('heading', { name: `Offboarding ${waitingId}`, level: 1 }).waitFor();
  await page.getByText('This offboarding waits for approval.').waitFor();
});

test("an offboarding's page counts one step in the singular", async () => {
  await page.goto(`${baseUrl}/console/#/offboardings/${oneStepId}`);
  await page.getByRole('heading', { name: `Offboarding ${oneStepId}`, level: 1 }).waitFor();
  expect(await page.locator('.progress-text').textContent()).toBe('0 of 1 step done');
});
