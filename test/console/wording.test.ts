import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { launchChromium, signedInPage } from '../support/console-browser';
import { startApi, apiToken, type ApiHarness } from '../api/harness';

// Issue 21, items 4 and 6: the console speaks the page's language. A refusal reads as a sentence
// without backticks, routes or codes (the API's words stay the API's); the contacts table names
// the person client a contact follows by its client number, linked.

let api: ApiHarness;
let baseUrl: string;
let browser: Browser;

beforeAll(async () => {
  api = await startApi();
  baseUrl = await api.app.listen({ host: '127.0.0.1', port: 0 });
  browser = await launchChromium();
  const both = { caseware: true, clientOnline: true };
  expect((await api.call('POST', '/clients', { clientNumber: '1001', kind: 'company', name: 'Woorden BV', links: both })).statusCode).toBe(201);
  expect((await api.call('POST', '/clients', { clientNumber: '1005', kind: 'person', name: 'A. Jansen', firstName: 'Anna', lastName: 'Jansen', links: both })).statusCode).toBe(201);
  expect((await api.call('POST', '/clients/1001/contacts', { email: 'anna@woorden.test', master: { clientNumber: '1005' }, links: both })).statusCode).toBe(201);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
});


test('a refusal reads as a sentence in the page\'s words: no backticks, no codes in quotes', async () => {
  const page = await signedInPage(browser, baseUrl, apiToken);
  try {
    // The API says: client 1005 is a person client; use "person-leaves" or "person-deceased" for a person.
    await page.goto(`${baseUrl}/console/#/offboardings/new?kind=client-leaves&clientNumber=1005`);
    await page.getByRole('button', { name: 'Show the plan (dry run)' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    const text = (await alert.textContent()) ?? '';
    expect(text).toContain(
      'Client 1005 is a person client; use “A person leaves companies and stops as a client” or “A person has died” for a person.',
    );
    expect(text).not.toMatch(/[`]|"person-|"person-deceased"/);
  } finally {
    await page.context().close();
  }
});

test('the contacts table names the person client a contact follows by its number, with a link to it', async () => {
  const page = await signedInPage(browser, baseUrl, apiToken);
  try {
    await page.goto(`${baseUrl}/console/#/clients/1001`);
    const row = page.getByRole('row').filter({ hasText: 'anna@woorden.test' });
    await row.waitFor();
    expect(await row.textContent()).toContain('client 1005');
    expect(await row.textContent()).not.toContain('person client (id');
    await row.getByRole('link', { name: '1005' }).click();
    await page.getByText('A. Jansen').first().waitFor();
    expect(page.url()).toContain('#/clients/1005');
  } finally {
    await page.context().close();
  }
});

test('at 1280 px every page an admin may open has its link in sight in the top bar, none scrolled out of view', async () => {
  const page = await signedInPage(browser, baseUrl, apiToken);
  try {
    const navigation = page.getByRole('navigation', { name: 'Pages' });
    const links = navigation.getByRole('link');
    expect(await links.allTextContents()).toEqual(['Portal health', 'Sync errors', 'Clients', 'Offboardings', 'Reconcile', 'File requests', 'Audit', 'Tokens']);
    const bar = await navigation.boundingBox();
    for (const link of await links.all()) {
      const box = await link.boundingBox();
      expect(box && bar && box.x + box.width <= bar.x + bar.width + 0.5 && box.x + box.width <= 1280, `${await link.textContent()} in sight`).toBe(true);
    }
  } finally {
    await page.context().close();
  }
});
