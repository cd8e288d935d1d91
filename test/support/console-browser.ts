import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { chromiumExecutablePath } from '../../src/dev/chromium';

// The console's browser tests: a headless Chromium (Debian's, through playwright-core), and a tab
// signed in with a token, at the width the console is made for.

export async function launchChromium(): Promise<Browser> {
  const chromiumPath = chromiumExecutablePath();
  if (!existsSync(chromiumPath)) throw new Error(`Chromium is not installed at ${chromiumPath}`);
  return chromium.launch({ executablePath: chromiumPath, headless: true });
}

/** A new tab (in a context of its own) at the console, signed in with `secret`. */
export async function signedInPage(browser: Browser, baseUrl: string, secret: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(`${baseUrl}/console/`);
  await page.getByLabel('API token').fill(secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.signed-in-as').waitFor();
  return page;
}
