import { Client } from '@temporalio/client';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { launchChromium, signedInPage } from '../support/console-browser';
import { createOffboarding } from '../../src/registry/offboardings';
import { recordPortalFailure } from '../../src/sync/health';
import { apiToken, startApi, type ApiHarness } from '../api/harness';

// Issue 21, items 4 and 6, in Chromium: refusals, a repair's or a portal's failure read in the
// page's words (a sentence, no backticks, routes named as the pages name them), fields by the form's
// labels (the offboarding pages' plurals: offboarding-plan.test.ts). The API alone, with an
// approval threshold of 4.

const both = { caseware: true, clientOnline: true };
let api: ApiHarness;
let baseUrl: string;
let browser: Browser;

async function company(clientNumber: string, contacts: number): Promise<void> {
  expect((await api.call('POST', '/clients', { clientNumber, kind: 'company', name: `Plan ${clientNumber} BV`, links: both })).statusCode).toBe(201);
  for (let i = 0; i < contacts; i += 1) {
    expect((await api.call('POST', `/clients/${clientNumber}/contacts`, { email: `c${i}@${clientNumber}.test`, links: both })).statusCode).toBe(201);
  }
}

beforeAll(async () => {
  // A dry run and a refused start never call Temporal: its client is a lazy one that never connects.
  api = await startApi({ offboarding: { temporal: new Client(), taskQueue: 'never-used', approvalThreshold: 4 } });
  baseUrl = await api.app.listen({ host: '127.0.0.1', port: 0 });
  browser = await launchChromium();
  await company('5002', 1);
  await company('5004', 1);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
});


async function showPlan(page: Page, query: string): Promise<void> {
  await page.goto(`${baseUrl}/console/#/offboardings/new?${query}`);
  await page.getByRole('button', { name: 'Show the plan (dry run)' }).click();
}

test('a refusal reads in the page\'s words: no backticks, no route, a sentence', async () => {
  const page = await signedInPage(browser, baseUrl, apiToken);
  try {
    await showPlan(page, 'kind=client-leaves&clientNumber=5004');
    await page.locator('.approval-outlook').waitFor();
    // Meanwhile someone else asks for it: carrying it out is refused (409), naming that offboarding.
    const other = await createOffboarding(api.db, { request: { kind: 'client-leaves', clientNumber: '5004' }, requestedBy: 'anna', approvalThreshold: 4 });
    await page.getByRole('button', { name: 'Carry it out' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    const text = (await alert.textContent()) ?? '';
    // The API names the first record it finds held: the client or its contact.
    expect(text).toMatch(
      new RegExp(
        `^The offboarding was refused\\. (Client 5004|Contact \\d+) is being offboarded by offboarding ${other.id}; its links, master link and status cannot change ` +
          'until that offboarding has finished or is cancelled\\.$',
      ),
    );
    expect(text).not.toMatch(/`|GET \/|POST \//);
  } finally {
    await page.context().close();
  }
});

test('a field the API refused is named by the form\'s label, not body.companies.1', async () => {
  expect((await api.call('POST', '/clients', { clientNumber: '6001', kind: 'person', name: 'P', firstName: 'P', lastName: 'Q', links: both })).statusCode).toBe(201);
  const page = await signedInPage(browser, baseUrl, apiToken);
  try {
    await page.goto(`${baseUrl}/console/#/offboardings/new?kind=person-leaves&clientNumber=6001`);
    await page.getByLabel('Companies the person leaves').fill('5001, 12345678901');
    await page.getByRole('button', { name: 'Show the plan (dry run)' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toBe(
      'The offboarding was refused. Please check these fields:Companies the person leaves, entry 2: A client number is 1 to 10 letters, digits or dashes.',
    );
  } finally {
    await page.context().close();
  }
});

test('the API\'s route references read as the pages name them', async () => {
  const own = await createOffboarding(api.db, { request: { kind: 'client-leaves', clientNumber: '5002' }, requestedBy: 'api', approvalThreshold: 0 });
  // The built-in token asked for it, so its approval is refused (four eyes), naming a CLI command.
  const refused = await api.call('POST', `/offboardings/${own.id}/approve`);
  expect(refused.statusCode).toBe(403);
  const fourEyes = refused.json<{ error: { message: string } }>().error.message;
  expect(fourEyes).toContain('`portal-sync tokens create');
  const page = await signedInPage(browser, baseUrl, apiToken);
  try {
    // The console's own module, as the browser loads it (a string: vitest rewrites import() in functions).
    const inPageWords = (message: string) =>
      page.evaluate<string>(`import('/console/assets/lib/words.js').then((words) => words.pageWords(${JSON.stringify(message)}))`);
    expect(await inPageWords(fourEyes)).toBe(
      `Offboarding ${own.id} was asked for by the built-in token “api” (API_TOKEN); another token with the operator role must approve it (four eyes). ` +
        'A second person approves it with a token of their own; an admin makes one on the Tokens page.',
    );
    // Messages of the sync and of file requests, as the API words them.
    expect(await inPageWords('contact 4 has no CaseWare Cloud login: CaseWare Cloud refused it (sync error 3; see GET /sync/errors?clientNumber=1001); fix that first')).toBe(
      'Contact 4 has no CaseWare Cloud login: CaseWare Cloud refused it (sync error 3; see the Sync errors page); fix that first.',
    );
    expect(await inPageWords('contact 4 has no CaseWare Cloud login yet: its sync has not finished (see GET /sync/clients/1001); try again when it has')).toBe(
      'Contact 4 has no CaseWare Cloud login yet: its sync has not finished (see the client page of 1001); try again when it has.',
    );
    expect(await inPageWords('2 logins held for approval instead of made (and mailed): see the credentials-mail guard in GET /sync/health')).toBe(
      '2 logins held for approval instead of made (and mailed): see the credentials-mail guard on the Portal health page.',
    );
  } finally {
    await page.context().close();
  }
});

test('a portal that cannot be used at all is described in words, not by its code', async () => {
  await recordPortalFailure(api.db, 'caseware', {
    code: 'unauthorized',
    message: 'refused GET /api/v1/users (401 unauthorized): check the configured CaseWare Cloud client id and secret',
  });
  const page = await signedInPage(browser, baseUrl, apiToken);
  try {
    await page.goto(`${baseUrl}/console/#/errors`);
    const notice = page.locator('.notice').filter({ hasText: 'CaseWare Cloud cannot be used at all' });
    await notice.waitFor();
    expect(await notice.textContent()).toContain(
      'The portal refused our login or permission. Refused GET /api/v1/users (401 unauthorized): check the configured CaseWare Cloud client id and secret.',
    );
    expect(await notice.locator('code').count()).toBe(0);
  } finally {
    await page.context().close();
  }
});
