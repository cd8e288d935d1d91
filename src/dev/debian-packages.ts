import { spawnSync } from 'node:child_process';
import { findOnPath } from './temporal-cli';

/**
 * Debian packages the tests need (Chromium; Python's pip and venv), installed with apt-get when this
 * process may: as root, or through sudo without a password. Otherwise the caller stops and names
 * the command a person has to run.
 */
export type AptOutcome =
  | { installed: true }
  | { installed: false; why: 'no-apt-get' }
  | { installed: false; why: 'not-root'; command: string }
  | { installed: false; why: 'failed'; command: string };

/** The command that installs `packages`, as this user has to type it. */
export function aptInstallCommand(packages: string[]): string {
  return `${process.getuid?.() === 0 ? '' : 'sudo '}apt-get install -y ${packages.join(' ')}`;
}

/** How apt-get is run here: itself as root, else through `sudo -n` when sudo asks no password. */
function aptGetCommand(aptGet: string): string[] | undefined {
  if (process.getuid?.() === 0) return [aptGet];
  const sudo = findOnPath('sudo');
  if (sudo && spawnSync(sudo, ['-n', 'true'], { stdio: 'ignore' }).status === 0) {
    // sudo drops the environment; `env` hands apt-get the non-interactive front end.
    return [sudo, '-n', 'env', 'DEBIAN_FRONTEND=noninteractive', aptGet];
  }
  return undefined;
}

export function aptInstall(packages: string[], log: (line: string) => void): AptOutcome {
  const aptGet = findOnPath('apt-get');
  if (!aptGet) return { installed: false, why: 'no-apt-get' };
  const command = aptGetCommand(aptGet);
  if (!command) return { installed: false, why: 'not-root', command: aptInstallCommand(packages) };
  const [program = aptGet, ...prefix] = command;
  const run = (args: string[]) =>
    spawnSync(program, [...prefix, ...args], {
      encoding: 'utf8',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      maxBuffer: 64 * 1024 * 1024,
    });

  log(`  apt-get install -y ${packages.join(' ')}`);
  let result = run(['install', '-y', '-qq', ...packages]);
  if (result.status !== 0) {
    // A fresh machine (a container image) often has no package lists at all: read them, once.
    log('  apt-get could not install it as things stand; reading the package lists (apt-get update) and trying again');
    const update = run(['update', '-qq']);
    if (update.status === 0) result = run(['install', '-y', '-qq', ...packages]);
    else result = update;
  }
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    if (output) log(output);
    return { installed: false, why: 'failed', command: aptInstallCommand(packages) };
  }
  return { installed: true };
}
