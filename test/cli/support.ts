import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import knex from 'knex';
import { freePort } from '../../src/dev/local-infra';

export { freePort };

// The CLI as a user runs it: its bin in a child process, with only the environment given here.

const bin = path.resolve(__dirname, '..', '..', 'src', 'cli', 'bin.cjs');

/** The environment of every run: nothing of the test process's own (tokens, URLs) leaks in. */
export function cleanEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, LOG_LEVEL: 'error' };
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) env[key] = value;
  return env;
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to its end. */
export function cli(args: readonly string[], env: NodeJS.ProcessEnv, { timeoutMs = 45_000, cwd }: { timeoutMs?: number; cwd?: string } = {}): Promise<Run> {
  const running = spawnCli(args, env, { cwd });
  const timer = setTimeout(() => running.child.kill('SIGKILL'), timeoutMs);
  return running.exited.finally(() => clearTimeout(timer));
}

export interface RunningCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Waits until stdout matches, and gives the match. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<Run>;
  /** SIGTERM, then the run as it ended. */
  terminate(): Promise<Run>;
}

export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv, { cwd }: { cwd?: string } = {}): RunningCli {
  const child = spawn(process.execPath, [bin, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<Run>((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  let done = false;
  void exited.then(() => (done = true));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    async waitForOutput(pattern, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const match = pattern.exec(stdout);
        if (match) return match;
        if (done) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`no ${String(pattern)} in the output of portal-sync ${args.join(' ')}:\n${stdout}\nstderr:\n${stderr}`);
    },
    exited,
    async terminate() {
      if (!done) child.kill('SIGTERM');
      return exited;
    },
  };
}


const adminUrl = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** An empty database, not migrated: what `portal-sync migrate` meets on a new deployment. */
export async function createEmptyDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `portal_sync_cli_${randomBytes(6).toString('hex')}`;
  const admin = knex({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
  await admin.raw(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await admin.raw(`drop database if exists ${name} with (force)`);
      await admin.destroy();
    },
  };
}
