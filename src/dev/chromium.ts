import { aptInstall } from './debian-packages';
import { isExecutable } from './temporal-cli';

/**
 * The headless Chromium the console's browser test (test/console/) drives through playwright-core:
 * Debian's `chromium` package, or the one CHROMIUM_PATH names. Playwright never downloads a browser
 * of its own.
 */
export const debianChromium = '/usr/bin/chromium';

export function chromiumExecutablePath(): string {
  return process.env.CHROMIUM_PATH ?? debianChromium;
}

/** Installs Debian's chromium when Chromium is missing; a sentence to stop with when it cannot. */
export function ensureChromium(log: (line: string) => void = console.log): { ok: true } | { ok: false; stop: string } {
  const wanted = chromiumExecutablePath();
  if (isExecutable(wanted)) return { ok: true };
  const where = process.env.CHROMIUM_PATH ? `CHROMIUM_PATH=${wanted}` : wanted;
  log(`Installing Chromium (Debian package chromium): it is not at ${where}, and test/console/console.test.ts drives the console in it ...`);
  const outcome = aptInstall(['chromium'], log);
  if (outcome.installed) {
    if (isExecutable(wanted)) return { ok: true };
    return { ok: false, stop: `Debian's chromium is installed, but ${where} is still missing: unset CHROMIUM_PATH, or point it at ${debianChromium}.` };
  }
  switch (outcome.why) {
    case 'no-apt-get':
      return { ok: false, stop: `Chromium is not at ${where} and this machine has no apt-get to install it: install Chromium, then run \`CHROMIUM_PATH=/path/to/chromium npm test\`.` };
    case 'not-root':
      return { ok: false, stop: `Chromium is not at ${where} and only root may install it (sudo asks for a password): run \`${outcome.command}\`, then \`npm test\` again (or set CHROMIUM_PATH to a Chromium you have).` };
    case 'failed':
      return { ok: false, stop: `Chromium could not be installed (apt-get's last lines are above): fix that and run \`${outcome.command}\`, or set CHROMIUM_PATH to a Chromium you have.` };
  }
}
