import { InvalidArgumentError, Option, type Command } from 'commander';
import { defaultApiUrl, PortalSyncApi } from './api-client';
import type { ExitCode } from './exit-codes';
import { createOutput, type Output } from './output';

/** The options every command that talks to the HTTP API has. */
export interface ApiCommandOptions {
  apiUrl: string;
  token?: string;
  json?: boolean;
}

export function withApiOptions(command: Command): Command {
  return command
    .addOption(new Option('--api-url <url>', 'the portal-sync HTTP API').env('PORTAL_SYNC_API_URL').default(defaultApiUrl))
    .addOption(
      new Option('--token <token>', 'bearer token of the API; unset: the file DATA_DIR/api-token (default .data/api-token) that `portal-sync start` writes').env(
        'API_TOKEN',
      ),
    )
    .option('--json', 'print the result as JSON, nothing else on stdout');
}

export function apiAndOutput(options: ApiCommandOptions): { api: PortalSyncApi; out: Output } {
  return { api: new PortalSyncApi({ apiUrl: options.apiUrl, token: options.token }), out: createOutput(options) };
}

export function positiveInteger(what: string) {
  return (value: string): number => {
    if (!/^[1-9][0-9]{0,14}$/.test(value)) throw new InvalidArgumentError(`${what} is a positive whole number`);
    return Number(value);
  };
}

/**
 * `--due`: a calendar date (YYYY-MM-DD, due at the end of that day, UTC) or an ISO moment with its
 * offset (2027-01-31T17:00:00+01:00): the API's own two forms, checked here so a typo is told in
 * the user's terms before any request.
 */
export function dueDate(value: string): string {
  const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (date) {
    const [year, month, day] = date.slice(1).map(Number) as [number, number, number];
    const parsed = new Date(Date.UTC(year, month - 1, day));
    if (parsed.getUTCFullYear() === year && parsed.getUTCMonth() === month - 1 && parsed.getUTCDate() === day) return value;
    throw new InvalidArgumentError(`${value} is no day of the calendar`);
  }
  const moment = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value);
  if (moment && !Number.isNaN(Date.parse(value))) return value;
  throw new InvalidArgumentError('a date is YYYY-MM-DD (e.g. 2027-01-31, due at the end of that day, UTC) or a moment with its offset (2027-01-31T17:00:00+01:00)');
}

export function port(value: string): number {
  const number = Number(value);
  if (!/^[0-9]{1,5}$/.test(value) || number > 65_535) throw new InvalidArgumentError('a port is a whole number from 0 to 65535 (0: any free port)');
  return number;
}

/** A list option given as `--x a b`, `--x a,b` or `--x a --x b`, each value one of `choices` if given. */
export function listOf(choices?: readonly string[]) {
  return (value: string, previous: string[] | undefined): string[] => {
    const values = value.split(',').map((item) => item.trim()).filter((item) => item !== '');
    for (const item of values) {
      if (choices && !choices.includes(item)) throw new InvalidArgumentError(`"${item}" is not one of ${choices.join(', ')}`);
    }
    return [...(previous ?? []), ...values];
  };
}

export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}`;
}

/** A command's action whose answer is the process's exit code (undefined: 0). */
export function exitWith<A extends unknown[]>(action: (...args: A) => Promise<ExitCode | undefined | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const code = await action(...args);
    if (typeof code === 'number') process.exitCode = code;
  };
}

