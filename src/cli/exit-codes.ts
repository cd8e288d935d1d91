/** What the CLI's exit status means; `--help` shows the same list (exitCodeHelp). */
export const exitCodes = {
  ok: 0,
  /** The work itself failed: an offboarding failed or was cancelled, a reconcile run failed, a service could not start. */
  failed: 1,
  /** Bad usage or input: unknown option, invalid value, or the API refused the request (4xx, a wrong token included). */
  usage: 2,
  /** The service cannot be reached or is unavailable: connection refused, timeout, 503 (e.g. Temporal down). */
  unavailable: 3,
  /** The client, contact, offboarding or run asked for does not exist (404). */
  notFound: 4,
  /** Stopped by Ctrl-C while following long work; the work itself goes on. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

export const exitCodeHelp = [
  'Exit codes:',
  '  0    ok',
  '  1    failed: the offboarding failed or was cancelled (for `cancel`: it ended otherwise), the reconcile run',
  '       failed, a service could not start or stopped on an error',
  '  2    bad usage or input: unknown command or option, invalid value, or the API refused the request (4xx,',
  '       a wrong or missing token included)',
  '  3    unavailable: the API, the database or Temporal cannot be reached, or answered 503',
  '  4    not found: no such client, offboarding or run (404)',
  '  130  interrupted (Ctrl-C) while following: the offboarding or reconcile goes on without you',
].join('\n');

/** A failure the CLI reports in one line and ends with its exit code. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
