import pg from 'pg';
import type { Logger } from 'pino';
import pino from 'pino';
import { ConfigError, loadConfig, type Config } from '../config';
import { createLogger } from '../logging';
import { CliError, exitCodes, type ExitCode } from './exit-codes';
import { jsonEvent } from './output';

// The life of the process commands (start, worker, api, simulators): configuration, logging,
// running until a signal, stopping cleanly, and what a failure to start means as an exit code.

/** The options of start, worker and api, as commander parses them (src/cli/commands/services.ts). */
export interface ProcessOptions {
  json?: boolean;
}

/** The options of `simulators` (src/cli/commands/simulators.ts). */
export interface SimulatorsOptions extends ProcessOptions {
  casewarePort: number;
  clientOnlinePort: number;
  host: string;
}

export function loadCliConfig(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(exitCodes.usage, error.message);
    throw error;
  }
}

/** JSON log lines on stdout, as `npm start` has always written them; with --json on stderr, so that stdout keeps to the events. */
export function processLogger(config: Config, json: boolean): Logger {
  return createLogger(config.LOG_LEVEL, json ? pino.destination(2) : undefined);
}

/** What was started, stopped again in reverse order; a failing stop is logged and the rest still stop. */
export class ShutdownSteps {
  private readonly stops: (() => Promise<unknown>)[] = [];

  constructor(private readonly log: Logger) {}

  push(stop: () => Promise<unknown>): void {
    this.stops.push(stop);
  }

  async stopAll(): Promise<boolean> {
    let clean = true;
    for (const stop of this.stops.splice(0).reverse()) {
      await stop().catch((error: unknown) => {
        clean = false;
        this.log.error({ err: error }, 'error while stopping');
      });
    }
    return clean;
  }
}

/**
 * Runs until SIGINT or SIGTERM (or until `failed` rejects: a worker that died), then stops
 * everything. A second signal during the stop ends the process at once, as Node does by default.
 */
export async function runUntilStopped(options: { log: Logger; stops: ShutdownSteps; json: boolean; failed?: Promise<unknown> }): Promise<ExitCode> {
  const { log, stops, json } = options;
  const reason = await new Promise<{ signal: string } | { error: unknown }>((resolve) => {
    process.once('SIGINT', () => resolve({ signal: 'SIGINT' }));
    process.once('SIGTERM', () => resolve({ signal: 'SIGTERM' }));
    options.failed?.then(
      () => resolve({ error: new Error('the worker stopped on its own') }),
      (error: unknown) => resolve({ error }),
    );
  });
  if ('error' in reason) log.error({ err: reason.error }, 'stopping: a service failed');
  else log.info('stopping ...');
  const clean = await stops.stopAll();
  if (json) jsonEvent({ event: 'stopped', ...('signal' in reason ? { signal: reason.signal } : { error: messageOf(reason.error) }) });
  return 'error' in reason || !clean ? exitCodes.failed : exitCodes.ok;
}

const unreachableCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EADDRNOTAVAIL', '57P03']);

/** Whether a start failed because something it needs (database, Temporal) cannot be reached. */
export function isUnreachable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && unreachableCodes.has(code)) return true;
    if (current instanceof AggregateError && current.errors.some(isUnreachable)) return true;
    if (/ECONNREFUSED|connect ETIMEDOUT|Failed to connect|failed to connect|transport error|getaddrinfo/i.test(current.message)) return true;
  }
  return false;
}

/** A failure to start as the CLI reports it: unreachable → 3, a port in use → 2, anything else → 1. */
export function startFailure(what: string, error: unknown): CliError {
  if (error instanceof CliError) return error;
  const message = `${what} could not start: ${messageOf(error)}`;
  if (isUnreachable(error)) return new CliError(exitCodes.unavailable, message);
  if (codeOf(error) === 'EADDRINUSE') return new CliError(exitCodes.usage, `${message} (choose another port)`);
  return new CliError(exitCodes.failed, message);
}

// Not every failure is an Error: a library may reject with a string, or with nothing at all.
function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (error === undefined || error === null) return 'it failed without saying why';
  return typeof error === 'string' ? error : JSON.stringify(error);
}

/**
 * Fails at once when the database cannot be used: exit 3 when it cannot be reached, 2 when it
 * refuses (a wrong password, no such database). A plain connection, not knex's pool, which
 * reports a failed connection on stdout before it gives up.
 */
export async function probeDatabase(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    const message = `the ${databaseName(url)} cannot be used: ${messageOf(error)}`;
    throw new CliError(isUnreachable(error) ? exitCodes.unavailable : exitCodes.usage, message);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** "database portal_sync at db:5432": how the CLI names a database, never with its URL's password. */
export function databaseName(url: string): string {
  try {
    const parsed = new URL(url);
    return `database ${parsed.pathname.replace(/^\//, '')} at ${parsed.host}`;
  } catch {
    return 'database';
  }
}
