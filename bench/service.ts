import { loadConfig } from '../src/config';
import { startCpuProfiler, type CpuProfiler } from './cpu-profile';
import { connectDatabase } from '../src/db';
import { connectTemporal } from '../src/dev/local-infra';
import { createLogger } from '../src/logging';
import { serviceRoles, serviceTuningFrom, startServices, type ServiceRole } from '../src/services';

/**
 * The service on its own (worker, outbox dispatcher, HTTP API: `startServices`) on infrastructure
 * the benchmark started, in a process of its own so that its RSS and CPU can be measured. Set up
 * through the same environment as `npm start` (src/config.ts; every setting at its default unless
 * the benchmark sets it), minus what `npm start` adds for a demo: no local infrastructure, no demo
 * clients, no start-up resend. Prints one JSON line `{ pid, apiUrl }` once it serves.
 * BENCH_ROLES (e.g. `worker`) runs only those roles: the benchmark's extra worker processes.
 * BENCH_CPU_PROFILE=<dir> profiles the process's CPU from the moment it serves until it is stopped
 * (bench/cpu-profile.ts): `BENCH_CPU_PROFILE=/tmp/prof npm run bench -- --quick --sections latency`.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.DATABASE_URL || !config.TEMPORAL_ADDRESS || !config.CASEWARE_BASE_URL || !config.CLIENT_ONLINE_BASE_URL || !config.API_TOKEN) {
    throw new Error('bench/service.ts needs DATABASE_URL, TEMPORAL_ADDRESS, CASEWARE_BASE_URL, CLIENT_ONLINE_BASE_URL and API_TOKEN');
  }
  const log = createLogger(config.LOG_LEVEL);
  const db = connectDatabase(config.DATABASE_URL);
  const temporal = await connectTemporal(config.TEMPORAL_ADDRESS, config.TEMPORAL_NAMESPACE);
  const roles = (process.env.BENCH_ROLES?.split(',') ?? [...serviceRoles]) as ServiceRole[];
  const services = await startServices({
    roles,
    db,
    temporal,
    ...serviceTuningFrom(config),
    caseware: {
      baseUrl: config.CASEWARE_BASE_URL,
      clientId: config.CASEWARE_CLIENT_ID ?? '',
      clientSecret: config.CASEWARE_CLIENT_SECRET ?? '',
      requestTimeoutMs: config.CASEWARE_REQUEST_TIMEOUT_MS,
      contactRoleName: config.CASEWARE_CONTACT_ROLE,
      contactGroupName: config.CASEWARE_CONTACT_GROUP,
    },
    clientOnline: {
      baseUrl: config.CLIENT_ONLINE_BASE_URL,
      apiKey: config.CLIENT_ONLINE_API_KEY ?? '',
      requestTimeoutMs: config.CLIENT_ONLINE_REQUEST_TIMEOUT_MS,
      sendBsn: config.CLIENT_ONLINE_SEND_BSN,
    },
    api: { host: config.API_HOST, port: config.API_PORT, token: config.API_TOKEN },
    log,
  });

  const profileDir = process.env.BENCH_CPU_PROFILE;
  const profiler: CpuProfiler | undefined = profileDir ? await startCpuProfiler(profileDir) : undefined;

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    const profiles = await profiler?.stop().catch((error: unknown) => (log.error({ err: error }, 'the CPU profile could not be written'), []));
    if (profiles?.length) console.error(`CPU profiles: ${profiles.join(', ')}`);
    await services.stop().catch((error: unknown) => log.error({ err: error }, 'error while stopping'));
    await temporal.close().catch(() => undefined);
    await db.destroy().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  console.log(JSON.stringify({ pid: process.pid, apiUrl: services.apiUrl ?? null }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
