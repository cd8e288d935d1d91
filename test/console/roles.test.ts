import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchChromium, signedInPage } from '../support/console-browser';
import { createApiToken, revokeApiToken } from '../../src/api/tokens';
import { createOffboarding } from '../../src/registry/offboardings';
import { startApi, type ApiHarness } from '../api/harness';

// Issue 21, items 1 and 2: the console says who is signed in and offers each role only what the API
// would let it do: a viewer's and a registry token's operator actions are disabled with the role
// they need, the token that asked for an offboarding is not offered its approval, and a wrong token
// at sign-in gets one notice, not two. The API alone (no Temporal): what is checked here is what the
// pages offer, before anything is clicked.

const both = { caseware: true, clientOnline: true };

let api: ApiHarness;
let baseUrl: string;
let browser: Browser;
let offboardingId: number;
const secrets = { vera: '', crm: '', anna: '', olga: '' };

beforeAll(async () => {
  api = await startApi();
  baseUrl = await api.app.listen({ host: '127.0.0.1', port: 0 });
  browser = await launchChromium();
  expect((await api.call('POST', '/clients', { clientNumber: '1001', kind: 'company', name: 'Rollen BV', links: both })).statusCode).toBe(201);
  expect((await api.call('POST', '/clients/1001/contacts', { email: 'c1@rollen.test', links: both })).statusCode).toBe(201);
  for (const [name, role] of [['vera', 'viewer'], ['crm', 'registry'], ['anna', 'operator'], ['olga', 'operator']] as const) {
    secrets[name] = (await createApiToken(api.db, { name, role })).secret;
  }
  // Anna asked for it; it waits for a second operator's approval.
  const offboarding = await createOffboarding(api.db, { request: { kind: 'client-leaves', clientNumber: '1001' }, requestedBy: 'anna', approvalThreshold: 0 });
  expect(offboarding.status).toBe('awaiting-approval');
  offboardingId = offboarding.id;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
});

function signIn(secret: string): Promise<Page> {
  return signedInPage(browser, baseUrl, secret);
}

async function open(page: Page, fragment: string, ready: Locator): Promise<void> {
  await page.goto(`${baseUrl}/console/#/${fragment}`);
  await ready.waitFor();
}

async function disabledFor(button: Locator, reason: string): Promise<void> {
  await button.waitFor();
  expect(await button.isDisabled()).toBe(true);
  expect(await button.getAttribute('title')).toBe(reason);
}

async function enabled(button: Locator): Promise<void> {
  await button.waitFor();
  expect(await button.isDisabled()).toBe(false);
}

const needsOperator = (name: string, role: string) => `Needs the operator role: token “${name}” has the ${role} role.`;

describe('signing in', () => {
  test('a wrong token: only "This token was not accepted", not the signed-out notice', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${baseUrl}/console/`);
      await page.getByLabel('API token').fill('pst_not-a-token-anyone-made');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByText('This token was not accepted').waitFor();
      expect(await page.locator('.notice').allTextContents()).toEqual([expect.stringContaining('This token was not accepted')]);
    } finally {
      await page.close();
    }
  });

  test('a token that stops working signs the tab out, with the notice that says so', async () => {
    const { secret } = await createApiToken(api.db, { name: 'soon-gone', role: 'viewer' });
    const page = await signIn(secret);
    try {
      await revokeApiToken(api.db, 'soon-gone');
      await page.goto(`${baseUrl}/console/#/offboardings`);
      await page.getByText('The API no longer accepts the token you signed in with').waitFor();
      expect(await page.getByText('This token was not accepted').count()).toBe(0);
    } finally {
      await page.context().close();
    }
  });
});

describe('each role sees only its actions', () => {
  for (const [name, role] of [['vera', 'viewer'], ['crm', 'registry']] as const) {
    test(`a ${role} token: signed in as ${name} (${role}); every operator action disabled, naming the role`, async () => {
      const page = await signIn(secrets[name]);
      const reason = needsOperator(name, role);
      try {
        expect(await page.locator('.signed-in-as').textContent()).toBe(`Signed in as ${name} (${role})`);
        const navigation = await page.getByRole('navigation', { name: 'Pages' }).textContent();
        expect(navigation).not.toContain('Tokens');
        expect(navigation).not.toContain('Audit');

        await open(page, '', page.getByRole('heading', { name: 'Portal health', level: 1 }));
        await disabledFor(page.getByRole('button', { name: 'Hold CaseWare Cloud' }), reason);
        await disabledFor(page.getByRole('button', { name: 'Hold Client Online' }), reason);

        await open(page, 'reconcile', page.getByRole('heading', { name: 'Reconcile', level: 1 }));
        await disabledFor(page.getByRole('button', { name: 'Run now' }), reason);
        await disabledFor(page.getByRole('button', { name: 'Compare only' }), reason);

        await open(page, 'offboardings', page.getByRole('heading', { name: 'Offboardings', level: 1 }));
        await disabledFor(page.getByRole('button', { name: 'New offboarding…' }), reason);
        expect(await page.getByRole('link', { name: 'New offboarding…' }).count()).toBe(0);

        await open(page, 'offboardings/new', page.getByRole('heading', { name: 'New offboarding', level: 1 }));
        await disabledFor(page.getByRole('button', { name: 'Show the plan (dry run)' }), reason);

        await open(page, `offboardings/${offboardingId}`, page.getByText('This offboarding waits for approval.'));
        await disabledFor(page.getByRole('button', { name: 'Approve' }), reason);
        await disabledFor(page.getByRole('button', { name: 'Cancel the offboarding' }), reason);

        await open(page, 'clients/1001', page.getByRole('heading', { name: 'Contacts' }));
        await disabledFor(page.getByRole('button', { name: 'Offboard this client…' }), reason);
        await disabledFor(page.getByRole('button', { name: 'Remove access…' }), reason);

        await open(page, 'file-requests', page.getByRole('heading', { name: 'Ask a client for files' }));
        await disabledFor(page.getByRole('button', { name: 'Send the request' }), reason);

        await open(page, 'tokens', page.getByRole('heading', { name: 'Tokens', level: 1 }));
        await disabledFor(page.getByRole('button', { name: 'Make the token' }), `Needs the admin role: token “${name}” has the ${role} role.`);
      } finally {
        await page.context().close();
      }
    });
  }

  test('an operator token: its actions offered; the approval of its own offboarding not, with the reason', async () => {
    const page = await signIn(secrets.anna);
    try {
      expect(await page.locator('.signed-in-as').textContent()).toBe('Signed in as anna (operator)');
      await open(page, '', page.getByRole('heading', { name: 'Portal health', level: 1 }));
      await enabled(page.getByRole('button', { name: 'Hold CaseWare Cloud' }));

      await open(page, 'reconcile', page.getByRole('heading', { name: 'Reconcile', level: 1 }));
      await enabled(page.getByRole('button', { name: 'Run now' }));
      await enabled(page.getByRole('button', { name: 'Compare only' }));

      await open(page, 'offboardings', page.getByRole('heading', { name: 'Offboardings', level: 1 }));
      await page.getByRole('link', { name: 'New offboarding…' }).waitFor();
      await open(page, 'offboardings/new', page.getByRole('heading', { name: 'New offboarding', level: 1 }));
      await enabled(page.getByRole('button', { name: 'Show the plan (dry run)' }));

      await open(page, `offboardings/${offboardingId}`, page.getByText('This offboarding waits for approval.'));
      const ownRequest = 'You asked for this offboarding (token “anna”): another token with the operator role must approve it (four eyes).';
      await disabledFor(page.getByRole('button', { name: 'Approve' }), ownRequest);
      expect(await page.locator('.own-request').textContent()).toBe(ownRequest);
      await enabled(page.getByRole('button', { name: 'Cancel the offboarding' }));

      await open(page, 'clients/1001', page.getByRole('heading', { name: 'Contacts' }));
      await page.getByRole('link', { name: 'Offboard this client…' }).waitFor();
      await page.getByRole('link', { name: 'Remove access…' }).waitFor();

      await open(page, 'file-requests', page.getByRole('heading', { name: 'Ask a client for files' }));
      await enabled(page.getByRole('button', { name: 'Send the request' }));

      await open(page, 'tokens', page.getByRole('heading', { name: 'Tokens', level: 1 }));
      await disabledFor(page.getByRole('button', { name: 'Make the token' }), 'Needs the admin role: token “anna” has the operator role.');
    } finally {
      await page.context().close();
    }
  });

  test('a second operator is offered the approval', async () => {
    const page = await signIn(secrets.olga);
    try {
      await open(page, `offboardings/${offboardingId}`, page.getByText('This offboarding waits for approval.'));
      await enabled(page.getByRole('button', { name: 'Approve' }));
      expect(await page.locator('.own-request').count()).toBe(0);
    } finally {
      await page.context().close();
    }
  });
});
