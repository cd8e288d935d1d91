import type { Command } from 'commander';
import { environmentHelp } from '../environment-help';
import { examples, exitWith } from '../options';

// Loaded when the command runs, not when the CLI starts: it brings the whole service (Temporal, the
// database driver, the API), which the commands that only talk to the API do not need. `require`,
// not `import()`: the bin registers tsx's CommonJS loader only.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const migrate = () => require('../run/migrate') as typeof import('../run/migrate');

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .summary('run the database migrations, then exit')
    .description(
      'run the database migrations that have not run yet, then exit; a database that is up to date is left as it is. ' +
        'Without DATABASE_URL: the embedded PostgreSQL under DATA_DIR, as `portal-sync start` uses it',
    )
    .option('--json', 'print the result as JSON ({ database, ran, total }), nothing else on stdout')
    .addHelpText(
      'after',
      environmentHelp(['DATABASE_URL', 'DATA_DIR']) + examples('DATABASE_URL=postgres://portal_sync@db/portal_sync portal-sync migrate', 'portal-sync migrate --json'),
    )
    .action(exitWith((options: { json?: boolean }) => migrate().runMigrations(options)));
}
