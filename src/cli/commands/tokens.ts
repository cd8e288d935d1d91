import { InvalidArgumentError, Option, type Command } from 'commander';
import { roles, tokenNameSchema } from '../../api/tokens';
import type { TokenCommandOptions } from '../run/tokens';
import { environmentHelp } from '../environment-help';
import { examples, exitWith } from '../options';

// Loaded when the command runs, not when the CLI starts: it brings the database driver, which the
// commands that only talk to the API do not need. `require`, not `import()`: the bin registers
// tsx's CommonJS loader only.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const tokens = () => require('../run/tokens') as typeof import('../run/tokens');

function tokenName(value: string): string {
  const parsed = tokenNameSchema.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(parsed.error.issues.map((issue) => issue.message).join('; '));
  return parsed.data;
}

const databaseHelp =
  environmentHelp(['DATABASE_URL', 'DATA_DIR']) +
  '\n  PORTAL_SYNC_API_URL, API_TOKEN  with --api-url or --token: the API and the token (with the admin role) to go through';

/** --api-url and --token: through the API instead of on the database. Not read from the environment alone, so that the database stays the default. */
function withApiChoice(command: Command): Command {
  return command
    .option('--api-url <url>', 'go through this portal-sync HTTP API (POST/GET/DELETE /tokens) with a token that has the admin role, instead of the database')
    .option('--token <token>', 'go through the API with this token (admin role); unset with --api-url: API_TOKEN, else DATA_DIR/api-token');
}

export function registerTokenCommands(program: Command): void {
  const command = program
    .command('tokens')
    .summary('the API tokens: create, list, revoke')
    .description(
      'the API tokens with names and roles (docs/api.md, "Tokens and roles"): viewer reads everything; registry (the CRM integration) also ' +
        'writes clients, contacts, links and master links; operator also offboards, resyncs and runs the reconcile; admin also manages ' +
        'the tokens and reads the audit. Like `migrate`, ' +
        'these commands work on the database itself: DATABASE_URL, or unset, the registry of the local stack running on this machine ' +
        '(`npm start`; its embedded PostgreSQL under DATA_DIR, else ./.data or the checkout\'s .data). They never start a database of their own. ' +
        'With --api-url or --token they go through the API instead, with a token that has the admin role',
    )
    .addHelpText('after', databaseHelp + examples('portal-sync tokens create --name crm --role registry', 'portal-sync tokens list', 'portal-sync tokens revoke crm'));

  withApiChoice(command.command('create'))
    .summary('make a token and print its secret, this once')
    .description('make a token with a name and a role and print its secret; only a hash of it is kept, so it cannot be shown again')
    .addOption(new Option('--name <name>', 'what the token is for or whose it is, as offboarding records will show it (e.g. crm, alice)').argParser(tokenName).makeOptionMandatory())
    .addOption(new Option('--role <role>', 'what it may do').choices(roles).makeOptionMandatory())
    .option('--json', 'print { name, role, createdAt, secret } as JSON, nothing else on stdout')
    .addHelpText(
      'after',
      databaseHelp +
        examples(
          'portal-sync tokens create --name crm --role registry',
          'portal-sync tokens create --name alice --role operator --json',
          'portal-sync tokens create --name bob --role viewer --api-url https://portal-sync.example.nl --token $ADMIN_TOKEN',
        ),
    )
    .action(exitWith((options: TokenCommandOptions & { name: string; role: (typeof roles)[number] }) => tokens().createToken(options)));

  withApiChoice(command.command('list'))
    .summary('the tokens: names, roles, when made and last used; never their secrets')
    .description('the tokens that may be used, by name: role, when made, when last used (to the minute); never their secrets')
    .option('--include-revoked', 'also the revoked tokens, with when they were revoked')
    .option('--json', 'print the list as JSON, nothing else on stdout')
    .addHelpText('after', databaseHelp + examples('portal-sync tokens list', 'portal-sync tokens list --include-revoked --json'))
    .action(exitWith((options: TokenCommandOptions & { includeRevoked?: boolean }) => tokens().listTokens(options)));

  withApiChoice(command.command('revoke'))
    .summary('revoke a token: its next request is refused')
    .description('revoke the token of that name: the API refuses its next request (401); the name may then be given to a new token')
    .argument('<name>', 'the token', tokenName)
    .option('--json', 'print the revoked token as JSON, nothing else on stdout')
    .addHelpText('after', databaseHelp + examples('portal-sync tokens revoke crm'))
    .action(exitWith((name: string, options: TokenCommandOptions) => tokens().revokeToken(name, options)));
}
