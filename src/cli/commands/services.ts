import type { Command } from 'commander';
import { environmentHelp } from '../environment-help';
import { examples, exitWith } from '../options';
import type { ProcessOptions } from '../process';

// Loaded when the command runs, not when the CLI starts: it brings the whole service (Temporal, the
// database driver, the API), which the commands that only talk to the API do not need. `require`,
// not `import()`: the bin registers tsx's CommonJS loader only.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const localStack = () => require('../run/local-stack') as typeof import('../run/local-stack');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const roles = () => require('../run/roles') as typeof import('../run/roles');

// The process commands that run the service: their help here, their work in src/cli/run/ (loaded
// only when they run, so that the API commands start quickly).

const jsonOption = ['--json', 'print events as JSON lines on stdout ({"event":"ready",...}, {"event":"stopped"}); the log goes to stderr'] as const;

function registerStartCommand(program: Command): void {
  program
    .command('start')
    .summary('everything on this machine, with demo clients (what `npm start` runs)')
    .description(
      'the whole thing on this machine, what `npm start` runs: what the environment does not name runs locally (an embedded PostgreSQL, ' +
        'the Temporal dev server with its Web UI, both portal simulators), then the worker, the outbox dispatcher and the HTTP API; ' +
        'demo clients 1001-1005 on the first run. Runs until Ctrl-C or SIGTERM',
    )
    .option(...jsonOption)
    .addHelpText(
      'after',
      environmentHelp([
        'DATABASE_URL',
        'DATA_DIR',
        'TEMPORAL_ADDRESS',
        'TEMPORAL_PORT',
        'TEMPORAL_UI_PORT',
        'TEMPORAL_TASK_QUEUE',
        'API_HOST',
        'API_PORT',
        'API_TOKEN',
        'CASEWARE_BASE_URL',
        'CASEWARE_SIMULATOR_PORT',
        'CLIENT_ONLINE_BASE_URL',
        'CLIENT_ONLINE_SIMULATOR_PORT',
        'LOG_LEVEL',
      ]) + '\n  ... and the others of docs/operations.md, "Configuration".\n' + examples('portal-sync start', 'npm start', 'API_PORT=3100 TEMPORAL_PORT=7300 TEMPORAL_UI_PORT=8300 portal-sync start'),
    )
    .action(exitWith((options: ProcessOptions) => localStack().runLocalStack(options)));
}

function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .summary('the Temporal worker and the outbox dispatcher, joining an existing database and Temporal')
    .description(
      'the Temporal worker (workflows, activities, the hourly reconcile schedule) together with the outbox dispatcher, which delivers the ' +
        "registry's changes to Temporal; no HTTP API. It joins an existing database and Temporal server (DATABASE_URL, TEMPORAL_ADDRESS) " +
        'whose migrations have run (`portal-sync migrate`); any number of workers may run at once. Runs until SIGTERM or Ctrl-C',
    )
    .option(...jsonOption)
    .addHelpText(
      'after',
      environmentHelp([
        ['DATABASE_URL', 'PostgreSQL connection URL (required)'],
        ['TEMPORAL_ADDRESS', 'host:port of the Temporal server (required)'],
        'TEMPORAL_NAMESPACE',
        'TEMPORAL_TASK_QUEUE',
        ['CASEWARE_BASE_URL', 'CaseWare Cloud API (required): …/{firm}/ms/caseware-cloud/api/v2, or the simulator\'s'],
        'CASEWARE_CLIENT_ID',
        'CASEWARE_CLIENT_SECRET',
        'CASEWARE_CONTACT_ROLE',
        'CASEWARE_CONTACT_GROUP',
        'CASEWARE_REQUESTS_PER_SECOND',
        ['CLIENT_ONLINE_BASE_URL', 'Client Online API origin (required), or the simulator\'s'],
        'CLIENT_ONLINE_API_KEY',
        'CLIENT_ONLINE_SEND_BSN',
        'CLIENT_ONLINE_REQUESTS_PER_SECOND',
        'OUTBOX_POLL_INTERVAL_MS',
        'CREDENTIALS_MAIL_THRESHOLD',
        'OUTBOX_RETENTION_DAYS',
        'SYNC_ERROR_RETENTION_DAYS',
        'LOG_LEVEL',
      ]) +
        '\n  `portal-sync simulators` prints the CASEWARE_* and CLIENT_ONLINE_* values of the local simulators.\n' +
        examples(
          'DATABASE_URL=postgres://portal_sync@db/portal_sync TEMPORAL_ADDRESS=temporal:7233 CASEWARE_BASE_URL=... CASEWARE_CLIENT_ID=... CASEWARE_CLIENT_SECRET=... CLIENT_ONLINE_BASE_URL=... CLIENT_ONLINE_API_KEY=... portal-sync worker',
        ),
    )
    .action(exitWith((options: ProcessOptions) => roles().runRoles(['worker', 'dispatcher'], options)));
}

function registerApiCommand(program: Command): void {
  program
    .command('api')
    .summary('the HTTP API alone, joining an existing database and Temporal')
    .description(
      'the HTTP API alone (registry, sync status, offboardings, reconcile). It joins an existing database and Temporal server ' +
        '(DATABASE_URL, TEMPORAL_ADDRESS); changes reach the portals through a `portal-sync worker`, whose dispatcher delivers them. ' +
        'Runs until SIGTERM or Ctrl-C',
    )
    .option(...jsonOption)
    .addHelpText(
      'after',
      environmentHelp([
        ['DATABASE_URL', 'PostgreSQL connection URL (required)'],
        ['TEMPORAL_ADDRESS', 'host:port of the Temporal server (required: offboardings and the reconcile run there)'],
        'TEMPORAL_NAMESPACE',
        'TEMPORAL_TASK_QUEUE',
        'API_HOST',
        'API_PORT',
        'API_TOKEN',
        'DATA_DIR',
        'OFFBOARDING_APPROVAL_THRESHOLD',
        'OFFBOARDING_APPROVAL_WINDOW_HOURS',
        ['CREDENTIALS_MAIL_THRESHOLD', "the workers' credentials-mail guard threshold, as GET /sync/health shows it; set it as the workers have it"],
        'LOG_LEVEL',
      ]) + examples('DATABASE_URL=postgres://portal_sync@db/portal_sync TEMPORAL_ADDRESS=temporal:7233 API_HOST=0.0.0.0 API_TOKEN=... portal-sync api'),
    )
    .action(exitWith((options: ProcessOptions) => roles().runRoles(['api'], options)));
}

export function registerServiceCommands(program: Command): void {
  registerStartCommand(program);
  registerWorkerCommand(program);
  registerApiCommand(program);
}

