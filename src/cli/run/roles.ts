import type { Config } from '../../config';
import { connectDatabase, type Db } from '../../db';
import { configuredApiToken } from '../../dev/api-token';
import { connectTemporal } from '../../dev/local-infra';
import { temporalConnectionOptions } from '../../temporal/connection-options';
import { codecServerSettingsFromConfig, dataConverterFromConfig } from '../../temporal/data-converter';
import { installTemporalRuntime, temporalRuntimeOptions } from '../../temporal/runtime';
import { caseWareSettingsFrom, clientOnlineSettingsFrom, serviceTuningFrom, startServices, type ServiceRole } from '../../services';
import { migrationSource } from '../../../migrations';
import { CliError, exitCodes, type ExitCode } from '../exit-codes';
import { jsonEvent } from '../output';
import { loadCliConfig, probeDatabase, processLogger, runUntilStopped, startFailure, ShutdownSteps, type ProcessOptions } from '../process';

/** What a role needs of the configuration that `start` would run locally instead. */
function required(config: Config, roles: readonly ServiceRole[]): { databaseUrl: string; temporalAddress: string } {
  const missing = [
    ...(config.DATABASE_URL ? [] : ['DATABASE_URL']),
    ...(config.TEMPORAL_ADDRESS ? [] : ['TEMPORAL_ADDRESS']),
    ...(roles.includes('worker') && !config.CASEWARE_BASE_URL ? ['CASEWARE_BASE_URL (with CASEWARE_CLIENT_ID, CASEWARE_CLIENT_SECRET)'] : []),
    ...(roles.includes('worker') && !config.CLIENT_ONLINE_BASE_URL ? ['CLIENT_ONLINE_BASE_URL (with CLIENT_ONLINE_API_KEY)'] : []),
  ];
  if (missing.length > 0 || !config.DATABASE_URL || !config.TEMPORAL_ADDRESS) {
    throw new CliError(
      exitCodes.usage,
      `portal-sync ${roles.includes('api') ? 'api' : 'worker'} joins an existing deployment; set ${missing.join(', ')}. ` +
        '`portal-sync start` runs everything on this machine instead' +
        (roles.includes('worker') ? '; `portal-sync simulators` prints the values for the local simulators.' : '.'),
    );
  }
  return { databaseUrl: config.DATABASE_URL, temporalAddress: config.TEMPORAL_ADDRESS };
}

/** Refuses to start on a database whose migrations have not all run. */
async function checkMigrations(db: Db): Promise<void> {
  const [, pending] = (await db.migrate.list({ migrationSource })) as [unknown[], unknown[]];
  if (pending.length > 0) {
    throw new CliError(exitCodes.usage, `the database lacks ${pending.length} of its migrations: run \`portal-sync migrate\` first`);
  }
}

/** `portal-sync worker` (worker and dispatcher) and `portal-sync api`: roles of src/services.ts in a process of their own. */
export async function runRoles(roles: ServiceRole[], options: ProcessOptions): Promise<ExitCode> {
  const config = loadCliConfig();
  const { databaseUrl, temporalAddress } = required(config, roles);
  const json = options.json === true;
  const log = processLogger(config, json);
  const stops = new ShutdownSteps(log);
  const name = roles.includes('api') ? 'api' : 'worker';
  let ready: Record<string, unknown>;
  let failed: Promise<unknown> | undefined;
  try {
    // The SDK's runtime first: its logs go through ours, and its metrics are served when asked for.
    if (roles.includes('worker')) installTemporalRuntime(temporalRuntimeOptions(config, log));
    await probeDatabase(databaseUrl);
    const db = connectDatabase(databaseUrl);
    stops.push(() => db.destroy());
    await checkMigrations(db);
    const temporal = await connectTemporal(temporalAddress, config.TEMPORAL_NAMESPACE, {
      ...temporalConnectionOptions(config),
      dataConverter: dataConverterFromConfig(config),
    });
    stops.push(() => temporal.close());
    const apiToken = roles.includes('api') ? configuredApiToken(config) : undefined;
    const services = await startServices({
      roles,
      db,
      temporal,
      ...serviceTuningFrom(config),
      caseware: caseWareSettingsFrom(config),
      clientOnline: clientOnlineSettingsFrom(config),
      api: apiToken && { host: config.API_HOST, port: config.API_PORT, token: apiToken.value },
      codec: codecServerSettingsFromConfig(config),
      metricsToken: config.METRICS_TOKEN,
      log,
    });
    stops.push(() => services.stop());
    failed = roles.includes('worker') ? services.workerStopped : undefined;
    ready = {
      event: 'ready',
      command: name,
      roles,
      temporalAddress,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      ...(services.apiUrl ? { apiUrl: services.apiUrl, docsUrl: `${services.apiUrl}/docs`, apiTokenShownAs: apiToken?.shownAs } : {}),
    };
  } catch (error) {
    await stops.stopAll();
    if (!(error instanceof CliError)) log.error({ err: error }, `${name} failed to start`);
    throw startFailure(`portal-sync ${name}`, error);
  }
  if (json) jsonEvent(ready);
  else console.log(readyText(name, ready, config));
  return runUntilStopped({ log, stops, json, failed });
}

function readyText(name: 'api' | 'worker', ready: Record<string, unknown>, config: Config): string {
  const temporal = `Temporal ${config.TEMPORAL_ADDRESS ?? ''} (namespace ${config.TEMPORAL_NAMESPACE}, task queue ${config.TEMPORAL_TASK_QUEUE})`;
  const lines =
    name === 'worker'
      ? [
          '',
          'portal-sync worker is running.',
          `  Worker               workflows and activities on ${temporal}`,
          "  Outbox dispatcher    delivers the registry's changes to Temporal",
          `  CaseWare Cloud       ${config.CASEWARE_BASE_URL ?? ''}`,
          `  Client Online        ${config.CLIENT_ONLINE_BASE_URL ?? ''}`,
        ]
      : [
          '',
          'portal-sync API is running.',
          `  HTTP API             ${String(ready.apiUrl)}   (Authorization: Bearer ${String(ready.apiTokenShownAs)})`,
          `  API docs             ${String(ready.docsUrl)}`,
          `  Console              ${String(ready.apiUrl)}/console`,
          `  Temporal             ${temporal}`,
          '  Changes reach the portals through a `portal-sync worker`.',
        ];
  return [...lines, '', 'SIGTERM or Ctrl-C stops it.', ''].join('\n');
}
