import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { expectApi, type BenchContext } from './context';
import { createBenchDatabase, startExtraWorker, startService, startSimulators, startTemporalServer } from './infra';
import { memory } from './proc';
import { bulkSection } from './bulk';
import { floorSection } from './floor';
import { latencySection } from './latency';
import { directSection, provisioningSection } from './provisioning';
import { reconcileSection } from './reconcile';
import { seedFirm } from './seed';
import { sections, type BenchOptions, type Section } from './options';
import { printReport, type BenchResults } from './report';

/**
 * `npm run bench`: measures the service on the local stack (see bench/README.md). Not a
 * test: it prints a table and writes the figures as JSON.
 */

/** Sections that work on the seeded firm: the firm is seeded only when one of them runs. */
const seededSections: readonly Section[] = ['reconcile', 'latency', 'bulk'];

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive whole number');
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

function sectionList(value: string): Section[] {
  const chosen = value.split(',').map((s) => s.trim());
  for (const section of chosen) if (!(sections as readonly string[]).includes(section)) throw new InvalidArgumentError(`sections are ${sections.join(', ')}`);
  return chosen as Section[];
}

function parseOptions(): BenchOptions {
  const program = new Command('bench')
    .description('Benchmark portal-sync on the local stack: reconcile, change latency, a bulk update, provisioning, the direct-call limit, cost per change, Temporal\'s floor')
    .option('--quick', 'a first look: small sizes, short runs')
    .option('--clients <n>', 'seeded clients for the reconcile, change latency and bulk update (default 10000; quick 1000)', positiveInteger)
    .option('--contacts-per-client <n>', 'contacts per seeded client', positiveInteger, 3)
    .option('--edit-rate <n>', 'registry edits per second during the latency run, changes per second in the floor run (default 20; quick 10)', positiveNumber)
    .option('--edit-seconds <s>', 'how long the edits (and the floor run\'s changes) go on (default 60; quick 15)', positiveNumber)
    .option('--bulk-edits <n>', 'seeded clients edited in one transaction in the bulk run (default 10000; quick 1000; at most --clients)', positiveInteger)
    .option('--provision-clients <n>', 'clients created through the API for the provisioning run (default 200; quick 50)', positiveInteger)
    .option('--provision-contacts <n>', 'contacts per provisioned client', positiveInteger, 2)
    .option('--concurrency <n>', 'clients created at once, through the API and in the direct loop', positiveInteger, 8)
    .option('--workers <n>', 'worker processes on the task queue: the service\'s own and n - 1 more', positiveInteger, 1)
    .option('--history-sample <n>', 'client workflows whose history is counted', positiveInteger, 200)
    .option('--sections <list>', `which sections to run (${sections.join(',')})`, sectionList, [...sections])
    .option('--out <file>', 'where the JSON results go', path.join('bench', 'results', 'latest.json'))
    .option('--database-admin-url <url>', 'PostgreSQL to create the bench database on', process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres')
    .option('--verbose', 'show the processes\' log lines')
    .parse();
  const o = program.opts<Partial<BenchOptions> & { quick?: boolean }>();
  const quick = o.quick ?? false;
  return {
    quick,
    clients: o.clients ?? (quick ? 1_000 : 10_000),
    contactsPerClient: o.contactsPerClient ?? 3,
    editRate: o.editRate ?? (quick ? 10 : 20),
    editSeconds: o.editSeconds ?? (quick ? 15 : 60),
    bulkEdits: o.bulkEdits ?? (quick ? 1_000 : 10_000),
    provisionClients: o.provisionClients ?? (quick ? 50 : 200),
    provisionContacts: o.provisionContacts ?? 2,
    concurrency: o.concurrency ?? 8,
    workers: o.workers ?? 1,
    historySample: o.historySample ?? 200,
    sections: o.sections ?? [...sections],
    out: o.out ?? path.join('bench', 'results', 'latest.json'),
    databaseAdminUrl: o.databaseAdminUrl ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    verbose: o.verbose ?? false,
  };
}

function machine() {
  return {
    loadAverageAtStart: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
    hostname: os.hostname(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
  };
}

/** The chosen sections, in their order, each adding its results. */
async function runSections(
  results: BenchResults,
  context: BenchContext,
  seeded: Awaited<ReturnType<typeof seedFirm>>,
  options: BenchOptions,
  processLog: (line: string) => void,
): Promise<void> {
  if (options.sections.includes('reconcile')) results.reconcile = await reconcileSection(context, seeded);
  if (options.sections.includes('latency')) {
    results.latency = await latencySection(context, seeded, { rate: options.editRate, seconds: options.editSeconds, historySample: options.historySample });
  }
  if (options.sections.includes('bulk')) results.bulk = await bulkSection(context, seeded, { edits: options.bulkEdits });
  const provisioning = { clients: options.provisionClients, contacts: options.provisionContacts, concurrency: options.concurrency };
  if (options.sections.includes('provisioning')) {
    results.provisioning = await provisioningSection(context, { ...provisioning, historySample: options.historySample });
  }
  if (options.sections.includes('direct')) results.direct = await directSection(context, provisioning);
  if (results.provisioning && results.direct) {
    results.provisioningToLimit = Math.round((results.provisioning.objectsPerSecond / results.direct.objectsPerSecond) * 100) / 100;
  }
  if (options.sections.includes('floor')) results.floor = await floorSection(context, { rate: options.editRate, seconds: options.editSeconds }, processLog);
}

async function main(): Promise<void> {
  const options = parseOptions();
  const started = Date.now();
  const say = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  const processLog = (line: string) => {
    if (options.verbose || /error|fatal|warn/i.test(line)) console.error(line);
  };
  const stops: (() => Promise<unknown>)[] = [];
  let stopping = false;
  const stopAll = async () => {
    if (stopping) return;
    stopping = true;
    for (const stop of stops.reverse()) await stop().catch((error: unknown) => console.error('while stopping:', error));
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  process.once('SIGTERM', () => void stopAll().then(() => process.exit(143)));

  try {
    const load = os.loadavg()[0] ?? 0;
    if (load > os.cpus().length) say(`note: the machine's load is ${load.toFixed(1)} on ${os.cpus().length} cores before the benchmark starts; other processes will slow it (the table shows their CPU)`);
    say('starting PostgreSQL database, Temporal dev server and the simulators ...');
    const [database, temporal, simulators] = await Promise.all([
      createBenchDatabase(options.databaseAdminUrl).then((d) => (stops.push(() => d.drop()), d)),
      startTemporalServer(processLog).then((t) => (stops.push(() => t.stop()), t)),
      startSimulators(processLog).then((s) => (stops.push(() => s.caseware.stop(), () => s.clientOnline.stop()), s)),
    ]);
    const db = database;
    const contactRoleName = 'Contact - Entity Access';

    let seeded: Awaited<ReturnType<typeof seedFirm>> = [];
    let seedSeconds = 0;
    if (options.sections.some((section) => seededSections.includes(section))) {
      say(`seeding ${options.clients} clients with ${options.contactsPerClient} contacts each (SQL, /_sim/load, ledger) ...`);
      const seedStart = Date.now();
      seeded = await seedFirm(db.db, simulators, { clients: options.clients, contactsPerClient: options.contactsPerClient, prefix: 'B', contactRoleName });
      seedSeconds = (Date.now() - seedStart) / 1000;
    }

    say('starting the service (worker, outbox dispatcher, API) in its own process ...');
    const service = await startService({ databaseUrl: db.url, temporalAddress: temporal.address, simulators }, processLog);
    stops.push(() => service.stop());
    const extraWorkers = [];
    for (let index = 2; index <= options.workers; index += 1) {
      say(`starting worker process ${index} of ${options.workers} on the same task queue ...`);
      const worker = await startExtraWorker({ databaseUrl: db.url, temporalAddress: temporal.address, simulators }, index, processLog);
      stops.push(() => worker.stop());
      extraWorkers.push(worker);
    }
    const context: BenchContext = {
      db: db.db,
      databaseName: db.name,
      simulators,
      service,
      extraWorkers,
      temporal: { pid: temporal.pid, client: temporal.connection.client, address: temporal.address },
      rateLimit: { burst: 200, perSecond: 100 },
      contactRoleName,
      log: say,
    };
    // The hourly reconcile must not start in the middle of a measurement.
    await expectApi(context, 'PUT', '/reconcile/schedule', { paused: true, note: 'paused by the benchmark' });

    const results: BenchResults = {
      startedAt: new Date(started).toISOString(),
      machine: machine(),
      options,
      processes: { service: service.pid, extraWorkers: extraWorkers.map((w) => w.pid), temporal: temporal.pid, casewareSimulator: simulators.caseware.pid, clientOnlineSimulator: simulators.clientOnline.pid },
      seed: { clients: seeded.length, contactsPerClient: options.contactsPerClient, seconds: Math.round(seedSeconds * 10) / 10 },
    };
    await runSections(results, context, seeded, options, processLog);

    results.service = {
      peakRssMiB: Math.round(memory(service.pid)?.peakRssMiB ?? 0),
      extraWorkersPeakRssMiB: extraWorkers.map((w) => Math.round(memory(w.pid)?.peakRssMiB ?? 0)),
    };
    results.finishedAt = new Date().toISOString();
    mkdirSync(path.dirname(options.out), { recursive: true });
    writeFileSync(options.out, `${JSON.stringify(results, null, 2)}\n`);
    printReport(results);
    say(`results written to ${options.out}`);
  } finally {
    await stopAll();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
