import { Command } from 'commander';
import { version } from '../../package.json';
import { registerFileRequestCommands } from './commands/file-requests';
import { registerMigrateCommand } from './commands/migrate';
import { registerOffboardingCommands } from './commands/offboarding';
import { registerPortalCommands } from './commands/portals';
import { registerReconcileCommand } from './commands/reconcile';
import { registerServiceCommands } from './commands/services';
import { registerSimulatorsCommand } from './commands/simulators';
import { registerSyncCommands } from './commands/sync';
import { registerTokenCommands } from './commands/tokens';
import { exitCodeHelp } from './exit-codes';

/** `portal-sync`: every command, its options and its help. */
export function buildProgram(): Command {
  const program = new Command('portal-sync')
    .description(
      "Keeps the firm's client registry and its client portals (CaseWare Cloud, Client Online) in step.\n\n" +
        'Process commands (start, worker, api, migrate, simulators) run the service and are configured by environment variables; ' +
        '`tokens` manages the API tokens on the database, as `migrate` works on it. ' +
        'The other commands talk to its HTTP API, as any script may: --api-url (PORTAL_SYNC_API_URL, default http://127.0.0.1:3000) ' +
        'and --token (API_TOKEN, else the .data/api-token that `portal-sync start` writes).',
    )
    .version(version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .helpCommand('help [command]', 'show help for a command')
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ sortSubcommands: false, showGlobalOptions: false })
    // Errors of usage end with exit code 2, not commander's 1 (src/cli/main.ts).
    .exitOverride();

  program.commandsGroup('Run the service:');
  registerServiceCommands(program);
  registerMigrateCommand(program);
  registerSimulatorsCommand(program);
  program.commandsGroup('Who may use the API:');
  registerTokenCommands(program);
  program.commandsGroup('Sync status:');
  registerSyncCommands(program);
  program.commandsGroup('Portals:');
  registerPortalCommands(program);
  program.commandsGroup('Offboarding:');
  registerOffboardingCommands(program);
  program.commandsGroup('Reconcile:');
  registerReconcileCommand(program);
  program.commandsGroup('File requests:');
  registerFileRequestCommands(program);

  program.addHelpText(
    'after',
    `\nExamples:\n` +
      '  $ npx portal-sync start\n' +
      '  $ npx portal-sync tokens create --name crm --role registry\n' +
      '  $ npx portal-sync status 1001\n' +
      '  $ npx portal-sync errors --portal caseware\n' +
      '  $ npx portal-sync hold caseware --note "maintenance window"\n' +
      '  $ npx portal-sync offboard client-leaves --client 1001\n' +
      '  $ npx portal-sync offboard client-leaves --client 1001 --execute --reason "contract ended"\n' +
      '  $ npx portal-sync reconcile --wait\n' +
      '  $ npm run -s cli -- offboardings --json',
  );
  program.addHelpText('afterAll', `\n${exitCodeHelp}\n`);
  return program;
}
