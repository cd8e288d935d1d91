import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, type Config } from './config';
import { connectDatabase, migrateToLatest, type Db } from './db';
import { loadDemoClients } from './dev/demo-data';
import { createLogger } from './logging';
import { connectTemporal, startEmbeddedPostgres, startTemporalDevServer, type TemporalConnection } from './dev/local-infra';
import { startCaseWareSimulator } from './simulators/caseware';
import { startClientOnlineSimulator } from './simulators/client-online';
import type { RateLimit } from './sync/rate-gate';
import { requestResync } from './sync/resync';
import { startServices, type CaseWareSettings, type ClientOnlineSettings, type Services } from './stack';

/**
 * `npm start`: the whole thing on one machine. What the environment does not provide (database,
 * Temporal, CaseWare Cloud) runs locally; data stays under DATA_DIR between runs.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  const stops: (() => Promise<unknown>)[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping ...');
    for (const stop of stops.reverse()) {
      await stop().catch((error: unknown) => log.error({ err: error }, 'error while stopping'));
    }
    process.exit(code);
  };
  process.once('SIGINT', () => void stopAll(0));
  process.once('SIGTERM', () => void stopAll(0));

  try {
    mkdirSync(config.DATA_DIR, { recursive: true });
    const databaseUrl = config.DATABASE_URL ?? (await embeddedDatabase(config, stops));
    const db = connectDatabase(databaseUrl);
    stops.push(() => db.destroy());
    await migrateToLatest(db);

    log.info('starting Temporal ...');
    const temporal = await temporalServer(config);
    stops.push(() => temporal.close());

    const caseware = await caseWareSettings(config, stops);
    const clientOnline = await clientOnlineSettings(config, stops);
    if (simulatorOrigins.length > 0) await resendEverything(db);
    const apiToken = config.API_TOKEN ? { value: config.API_TOKEN, shownAs: '$API_TOKEN' } : localApiToken(config.DATA_DIR);
    const services: Services = await startServices({
      db,
      temporal,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      caseware,
      clientOnline,
      api: { host: config.API_HOST, port: config.API_PORT, token: apiToken.value },
      log,
      outboxPollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS,
      offboardingApprovalThreshold: config.OFFBOARDING_APPROVAL_THRESHOLD,
      retention: {
        outboxRetentionDays: config.OUTBOX_RETENTION_DAYS,
        syncErrorRetentionDays: config.SYNC_ERROR_RETENTION_DAYS,
        intervalMs: config.RETENTION_INTERVAL_MS,
      },
    });
    stops.push(() => services.stop());

    const demo = await loadDemoClients(db);
    printWhereToLook({ config, temporal, services, caseware, apiToken, demo });
  } catch (error) {
    if (error instanceof ConfigError) console.error(error.message);
    else log.error({ err: error }, 'start failed');
    await stopAll(1);
  }
}

async function embeddedDatabase(config: Config, stops: (() => Promise<unknown>)[]): Promise<string> {
  const postgres = await startEmbeddedPostgres(config.DATA_DIR);
  stops.push(() => postgres.stop());
  return postgres.url;
}

function temporalServer(config: Config): Promise<TemporalConnection> {
  if (config.TEMPORAL_ADDRESS) return connectTemporal(config.TEMPORAL_ADDRESS, config.TEMPORAL_NAMESPACE);
  return startTemporalDevServer({ dataDir: config.DATA_DIR, port: config.TEMPORAL_PORT, uiPort: config.TEMPORAL_UI_PORT });
}

const simulatorOrigins: string[] = [];

/** The simulators allow 100 requests a second: the fleet keeps a little under it. */
const simulatorPace = 90;

function rateLimit(perSecond: number | undefined, burst: number | undefined): RateLimit | undefined {
  return perSecond === undefined ? undefined : { perSecond, burst: burst ?? Math.max(1, Math.ceil(perSecond)) };
}

async function caseWareSettings(config: Config, stops: (() => Promise<unknown>)[]): Promise<CaseWareSettings> {
  const common = {
    requestTimeoutMs: config.CASEWARE_REQUEST_TIMEOUT_MS,
    rateLimit: rateLimit(config.CASEWARE_REQUESTS_PER_SECOND ?? (config.CASEWARE_BASE_URL ? undefined : simulatorPace), config.CASEWARE_REQUESTS_BURST),
    contactRoleName: config.CASEWARE_CONTACT_ROLE,
    contactGroupName: config.CASEWARE_CONTACT_GROUP,
  };
  if (config.CASEWARE_BASE_URL) {
    return { ...common, baseUrl: config.CASEWARE_BASE_URL, clientId: config.CASEWARE_CLIENT_ID ?? '', clientSecret: config.CASEWARE_CLIENT_SECRET ?? '' };
  }
  const simulator = await startCaseWareSimulator({ port: config.CASEWARE_SIMULATOR_PORT });
  stops.push(() => simulator.close());
  simulatorOrigins.push(`  CaseWare simulator   ${simulator.origin}/_sim/state`);
  return { ...common, baseUrl: simulator.baseUrl, clientId: simulator.clientId, clientSecret: simulator.clientSecret };
}

async function clientOnlineSettings(config: Config, stops: (() => Promise<unknown>)[]): Promise<ClientOnlineSettings> {
  const common = {
    requestTimeoutMs: config.CLIENT_ONLINE_REQUEST_TIMEOUT_MS,
    rateLimit: rateLimit(config.CLIENT_ONLINE_REQUESTS_PER_SECOND ?? (config.CLIENT_ONLINE_BASE_URL ? undefined : simulatorPace), config.CLIENT_ONLINE_REQUESTS_BURST),
    sendBsn: config.CLIENT_ONLINE_SEND_BSN,
  };
  if (config.CLIENT_ONLINE_BASE_URL) {
    return { ...common, baseUrl: config.CLIENT_ONLINE_BASE_URL, apiKey: config.CLIENT_ONLINE_API_KEY ?? '' };
  }
  const simulator = await startClientOnlineSimulator({ port: config.CLIENT_ONLINE_SIMULATOR_PORT });
  stops.push(() => simulator.close());
  simulatorOrigins.push(`  Client Online sim.   ${simulator.origin}/_sim/state`);
  return { ...common, baseUrl: simulator.baseUrl, apiKey: simulator.apiKey };
}

/**
 * The simulators keep nothing between runs: send every client again, every field, so they match
 * the registry (the ledger's last-sent copies describe the previous run's simulators).
 */
async function resendEverything(db: Db): Promise<void> {
  await requestResync(db);
}

/** The API token and how the start-up text names it: never its value, which terminals and CI logs keep. */
interface ApiToken {
  value: string;
  shownAs: string;
}

function localApiToken(dataDir: string): ApiToken {
  const file = path.join(dataDir, 'api-token');
  const relative = path.relative(process.cwd(), file);
  const shownAs = `$(cat ${relative.startsWith('..') || path.isAbsolute(relative) ? file : relative})`;
  if (existsSync(file)) return { value: readFileSync(file, 'utf8').trim(), shownAs };
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { value: token, shownAs };
}

function printWhereToLook(facts: {
  config: Config;
  temporal: TemporalConnection;
  services: Services;
  caseware: CaseWareSettings;
  apiToken: ApiToken;
  demo: boolean;
}): void {
  const { temporal, services, caseware, apiToken, demo } = facts;
  const lines = [
    '',
    'portal-sync is running.',
    `  Temporal Web UI      ${temporal.uiUrl ?? `(external server at ${temporal.address})`}`,
    `  HTTP API             ${services.apiUrl}   (Authorization: Bearer ${apiToken.shownAs})`,
    `  API docs             ${services.apiUrl}/docs`,
    ...simulatorOrigins,
    ...(facts.config.CASEWARE_BASE_URL ? [`  CaseWare Cloud       ${caseware.baseUrl}`] : []),
    demo ? '  Demo clients 1001-1005 were loaded.' : '  Registry data from the previous run is kept.',
    '',
    `  Try: curl -H "Authorization: Bearer ${apiToken.shownAs}" ${services.apiUrl}/sync/clients/1001`,
    `       curl -H "Authorization: Bearer ${apiToken.shownAs}" ${services.apiUrl}/sync/errors`,
    '',
    'Ctrl-C stops everything.',
    '',
  ];
  console.log(lines.join('\n'));
}

void main();
