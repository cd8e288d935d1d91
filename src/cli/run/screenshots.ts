import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { loadConfig } from '../../config';
import { chromiumExecutablePath, ensureChromium } from '../../dev/chromium';
import { freePort } from '../../dev/local-infra';
import { startLocalStack } from '../../local-stack';
import { createLogger } from '../../logging';
import { PortalSyncApi } from '../api-client';

// `npm run screenshots`: the console's pages as a reader sees them after `npm start`, regenerated
// into docs/screenshots/ (docs/console.md shows them). A local stack of its own on free ports, with
// an embedded PostgreSQL and Temporal dev server under a temporary DATA_DIR, the demo clients, and a
// little history (a reconcile run, an offboarding, a file request) so that no page is empty.

const outputDir = path.resolve(process.argv[2] ?? 'docs/screenshots');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the demo clients are in both portals, so that the pages show a settled firm. */
async function waitForDemoSync(api: PortalSyncApi): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const status = await api.get<{ caseware: { state: string }; clientOnline: { state: string } }>('/sync/clients/1001');
    if (status.caseware.state === 'in-sync' && status.clientOnline.state === 'in-sync') return;
    await sleep(1_000);
  }
  console.warn('the demo clients had not settled after 2 minutes; taking the pictures anyway');
}

/** One piece of history: says what it did, and a refusal does not stop the run. */
async function attempt<T>(what: string, call: () => Promise<T>): Promise<T | undefined> {
  try {
    const answer = await call();
    console.log(`${what}: done`);
    return answer;
  } catch (error) {
    console.log(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

/** Some history for the pages to show: a reconcile run, a file request, an offboarding. */
async function makeHistory(api: PortalSyncApi): Promise<{ offboardingId?: number }> {
  await attempt('reconcile dry run', () => api.post('/reconcile', { dryRun: true, wait: true }));
  await attempt('file request for 1001', () =>
    api.post('/file-requests', {
      clientNumber: '1001',
      subject: 'Jaarstukken 2026',
      description: 'Bank statements and the sales ledger of 2026, please.',
      dueDate: `${new Date().getFullYear() + 1}-01-31`,
      grantAnswerRole: true,
    }),
  );
  const offboarding = await attempt('offboarding of 1002', () =>
    api.post<{ id: number }>('/offboardings', { kind: 'client-leaves', clientNumber: '1002', reason: 'chose another firm', execute: true }),
  );
  return offboarding ? { offboardingId: offboarding.id } : {};
}

/** What to do on a page before its picture: e.g. ask for the plan of an offboarding. */
type Before = (page: Page) => Promise<void>;

const showPlan: Before = async (page) => {
  await page.getByRole('button', { name: 'Show the plan (dry run)' }).click();
  await page.getByRole('heading', { name: 'The plan' }).waitFor();
};

/** A page once it has loaded what it shows (no "Loading…" left), then a moment to settle. */
async function capture(page: Page, baseUrl: string, [fragment, name, before]: Shot): Promise<void> {
  await page.goto(`${baseUrl}/console/#/${fragment}`);
  await page.locator('main h1').first().waitFor();
  for (const deadline = Date.now() + 30_000; (await page.locator('.loading').count()) > 0 && Date.now() < deadline; ) await sleep(200);
  await before?.(page);
  await sleep(750);
  const file = path.join(outputDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}

type Shot = [fragment: string, name: string, before?: Before];

async function takePictures(baseUrl: string, token: string, offboardingId: number | undefined): Promise<void> {
  const browser = await chromium.launch({ executablePath: chromiumExecutablePath(), headless: true });
  try {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB', timezoneId: 'Europe/Amsterdam' })).newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(`${baseUrl}/console/`);
    await page.screenshot({ path: path.join(outputDir, 'sign-in.png') });
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.signed-in-as').waitFor();
    const shots: Shot[] = [
      ['', 'portal-health'],
      ['errors', 'sync-errors'],
      ['clients/1001', 'client'],
      ['offboardings', 'offboardings'],
      ...(offboardingId === undefined ? [] : ([[`offboardings/${offboardingId}`, 'offboarding']] as Shot[])),
      ['offboardings/new?kind=client-leaves&clientNumber=1001', 'new-offboarding', showPlan],
      ['reconcile', 'reconcile'],
      ['file-requests', 'file-requests'],
      ['audit', 'audit'],
      ['tokens', 'tokens'],
    ];
    for (const shot of shots) await capture(page, baseUrl, shot);
  } finally {
    await browser.close();
  }
}

async function main(): Promise<void> {
  const chromiumReady = ensureChromium();
  if (!chromiumReady.ok) throw new Error(chromiumReady.stop);
  mkdirSync(outputDir, { recursive: true });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'portal-sync-screenshots-'));
  const token = randomBytes(18).toString('base64url');
  const ports = { API_PORT: 0, TEMPORAL_PORT: 0, TEMPORAL_UI_PORT: 0, CASEWARE_SIMULATOR_PORT: 0, CLIENT_ONLINE_SIMULATOR_PORT: 0 };
  for (const key of Object.keys(ports) as (keyof typeof ports)[]) ports[key] = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, API_TOKEN: token, LOG_LEVEL: 'warn', ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])) };
  delete env.DATABASE_URL;
  delete env.TEMPORAL_ADDRESS;
  const config = loadConfig(env);
  console.log('starting a local stack of its own (embedded PostgreSQL, Temporal dev server, simulators) ...');
  const stack = await startLocalStack(config, createLogger('warn'));
  try {
    const api = new PortalSyncApi({ apiUrl: stack.facts.apiUrl, token });
    await waitForDemoSync(api);
    const { offboardingId } = await makeHistory(api);
    await sleep(3_000);
    await takePictures(stack.facts.apiUrl, token, offboardingId);
  } finally {
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
