import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { defaultApiUrl } from './cli/api-client';
import type { Config } from './config';
import { connectDatabase, migrateToLatest, type Db } from './db';
import { configuredApiToken, type ApiToken } from './dev/api-token';
import { loadDemoClients } from './dev/demo-data';
import { connectTemporal, startEmbeddedPostgres, startTemporalDevServer, type TemporalConnection } from './dev/local-infra';
import { startCaseWareSimulator } from './simulators/caseware/simulator';
import { startClientOnlineSimulator } from './simulators/client-online/simulator';
import { requestResync } from './sync/resync';
import { temporalConnectionOptions } from './temporal/connection-options';
import { codecServerSettingsFromConfig, dataConverterFromConfig } from './temporal/data-converter';
import { installTemporalRuntime, temporalRuntimeOptions } from './temporal/runtime';
import {
  caseWareSettingsFrom,
  clientOnlineSettingsFrom,
  serviceTuningFrom,
  startServices,
  type CaseWareSettings,
  type ClientOnlineSettings,
} from './services';

/** What a local run offers, and where: the start-up text, or `portal-sync start --json`. */
export interface LocalStackFacts {
  temporalUiUrl: string | null;
  temporalAddress: string;
  apiUrl: string;
  docsUrl: string;
  /** How to get the API token, never its value: `$API_TOKEN` or `$(cat .data/api-token)`. */
  apiTokenShownAs: string;
  simulators: { caseware?: string; clientOnline?: string };
  casewareBaseUrl: string | null;
  demoClientsLoaded: boolean;
}

export interface LocalStack {
  facts: LocalStackFacts;
  /** The start-up text of `npm start` (docs/getting-started.md, "npm start"). */
  whereToLook: string;
  stop(): Promise<void>;
}

type StopFunctions = (() => Promise<unknown>)[];

/**
 * `npm start` and `portal-sync start`: the whole thing on one machine. What the environment does
 * not provide (database, Temporal, CaseWare Cloud, Client Online) runs locally; data stays under
 * DATA_DIR between runs. A start that fails stops what it had started, then throws.
 */
export async function startLocalStack(config: Config, log: Logger): Promise<LocalStack> {
  const stops: StopFunctions = [];
  const stop = async () => {
    for (const stopOne of stops.reverse()) {
      await stopOne().catch((error: unknown) => log.error({ err: error }, 'error while stopping'));
    }
  };
  try {
    mkdirSync(config.DATA_DIR, { recursive: true });
    const databaseUrl = config.DATABASE_URL ?? (await embeddedDatabase(config, stops));
    const db = connectDatabase(databaseUrl);
    stops.push(() => db.destroy());
    await migrateToLatest(db);

    installTemporalRuntime(temporalRuntimeOptions(config, log));
    const temporal = await temporalServer(config);
    stops.push(() => temporal.close());

    const simulators: LocalStackFacts['simulators'] = {};
    const caseware = await caseWareSettings(config, stops, simulators);
    const clientOnline = await clientOnlineSettings(config, stops, simulators);
    if (simulators.caseware || simulators.clientOnline) await resendEverything(db);
    const apiToken = configuredApiToken(config);
    const services = await startServices({
      db,
      temporal,
      ...serviceTuningFrom(config),
      caseware,
      clientOnline,
      api: { host: config.API_HOST, port: config.API_PORT, token: apiToken.value },
      codec: codecServerSettingsFromConfig(config),
      metricsToken: config.METRICS_TOKEN,
      log,
    });
    stops.push(() => services.stop());

    const demo = await loadDemoClients(db);
    const facts: LocalStackFacts = {
      temporalUiUrl: temporal.uiUrl ?? null,
      temporalAddress: temporal.address,
      apiUrl: services.apiUrl,
      docsUrl: `${services.apiUrl}/docs`,
      apiTokenShownAs: apiToken.shownAs,
      simulators,
      casewareBaseUrl: config.CASEWARE_BASE_URL ? caseware.baseUrl : null,
      demoClientsLoaded: demo,
    };
    const hints = { tokensDataDir: config.DATABASE_URL ? undefined : nonDefaultDataDir(config.DATA_DIR), cliEnv: cliEnvironment(config.DATA_DIR, apiToken, services.apiUrl) };
    return { facts, whereToLook: whereToLook(facts, apiToken, hints), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function embeddedDatabase(config: Config, stops: StopFunctions): Promise<string> {
  const postgres = await startEmbeddedPostgres(config.DATA_DIR);
  stops.push(() => postgres.stop());
  return postgres.url;
}

function temporalServer(config: Config): Promise<TemporalConnection> {
  if (config.TEMPORAL_ADDRESS) {
    return connectTemporal(config.TEMPORAL_ADDRESS, config.TEMPORAL_NAMESPACE, {
      ...temporalConnectionOptions(config),
      dataConverter: dataConverterFromConfig(config),
    });
  }
  return startTemporalDevServer({ dataDir: config.DATA_DIR, port: config.TEMPORAL_PORT, uiPort: config.TEMPORAL_UI_PORT, dataConverter: dataConverterFromConfig(config) });
}

async function caseWareSettings(config: Config, stops: StopFunctions, simulators: LocalStackFacts['simulators']): Promise<CaseWareSettings> {
  const configured = caseWareSettingsFrom(config);
  if (configured) return configured;
  const simulator = await startCaseWareSimulator({ port: config.CASEWARE_SIMULATOR_PORT });
  stops.push(() => simulator.close());
  simulators.caseware = `${simulator.origin}/_sim/state`;
  return caseWareSettingsFrom(config, simulator);
}

async function clientOnlineSettings(config: Config, stops: StopFunctions, simulators: LocalStackFacts['simulators']): Promise<ClientOnlineSettings> {
  const configured = clientOnlineSettingsFrom(config);
  if (configured) return configured;
  const simulator = await startClientOnlineSimulator({ port: config.CLIENT_ONLINE_SIMULATOR_PORT });
  stops.push(() => simulator.close());
  simulators.clientOnline = `${simulator.origin}/_sim/state`;
  return clientOnlineSettingsFrom(config, simulator);
}

/**
 * The simulators keep nothing between runs: send every client again, every field, so they match
 * the registry (the ledger's last-sent copies describe the previous run's simulators).
 */
async function resendEverything(db: Db): Promise<void> {
  await requestResync(db);
}

function nonDefaultDataDir(dataDir: string): string | undefined {
  return path.resolve(dataDir) === path.resolve('.data') ? undefined : dataDir;
}

/**
 * What a CLI command in another terminal must be told to reach this run: its DATA_DIR when the token
 * is the file there and the directory is not the default, its API URL when not the CLI's default.
 */
function cliEnvironment(dataDir: string, apiToken: ApiToken, apiUrl: string): string {
  const tokenDir = apiToken.shownAs === '$API_TOKEN' ? undefined : nonDefaultDataDir(dataDir);
  return [
    ...(tokenDir ? [`DATA_DIR=${tokenDir}`] : []),
    ...(apiUrl.replace(/\/$/, '') === defaultApiUrl ? [] : [`PORTAL_SYNC_API_URL=${apiUrl}`]),
  ]
    .map((assignment) => `${assignment} `)
    .join('');
}

/**
 * `tokensDataDir`: a DATA_DIR other than the default, which `portal-sync tokens` must be given to find
 * the embedded PostgreSQL of this run (src/dev/local-database.ts); with the default it finds it alone.
 * `cliEnv`: what other CLI commands must be given (cliEnvironment), so the hints work as printed.
 */
function whereToLook(facts: LocalStackFacts, apiToken: ApiToken, { tokensDataDir, cliEnv }: { tokensDataDir?: string; cliEnv: string }): string {
  const { apiUrl } = facts;
  // Four eyes: what the built-in token asks for, a second token approves (docs/api.md, "Tokens and roles").
  const makeToken = `${tokensDataDir ? `DATA_DIR=${tokensDataDir} ` : ''}npx portal-sync tokens create --name <name> --role operator`;
  const lines = [
    '',
    'portal-sync is running.',
    `  Temporal Web UI      ${facts.temporalUiUrl ?? `(external server at ${facts.temporalAddress})`}`,
    `  HTTP API             ${apiUrl}   (Authorization: Bearer ${apiToken.shownAs})`,
    `  API docs             ${facts.docsUrl}`,
    `  Console              ${facts.apiUrl}/console   (sign in with the API token)`,
    ...(facts.simulators.caseware ? [`  CaseWare simulator   ${facts.simulators.caseware}`] : []),
    ...(facts.simulators.clientOnline ? [`  Client Online sim.   ${facts.simulators.clientOnline}`] : []),
    ...(facts.casewareBaseUrl ? [`  CaseWare Cloud       ${facts.casewareBaseUrl}`] : []),
    `  Approving            a held offboarding takes a second token (four eyes); make one with`,
    `                       ${makeToken}`,
    `                       (or on the console's Tokens page)`,
    facts.demoClientsLoaded ? '  Demo clients 1001-1005 were loaded.' : '  Registry data from the previous run is kept.',
    '',
    `  Try: curl -H "Authorization: Bearer ${apiToken.shownAs}" ${apiUrl}/sync/clients/1001`,
    `       curl -H "Authorization: Bearer ${apiToken.shownAs}" ${apiUrl}/sync/errors`,
    `       ${cliEnv}npx portal-sync status 1001     (npx portal-sync --help lists every command)`,
    '',
    'Ctrl-C stops everything.',
    '',
  ];
  return lines.join('\n');
}
