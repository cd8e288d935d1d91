import { Option, type Command } from 'commander';
import type { Offboarding, OffboardingDryRun, OffboardingList, OffboardingStarted } from '../api-client';
import { exitCodes, type ExitCode } from '../exit-codes';
import { table, localDateTime } from '../format';
import { describeDryRun, describeOffboarding, exitCodeOf, followOffboarding, isFinished, outcome } from '../offboarding-view';
import { apiAndOutput, examples, exitWith, listOf, positiveInteger, withApiOptions, type ApiCommandOptions } from '../options';
import type { Output } from '../output';

const portals = ['caseware', 'clientOnline'];
const statuses = ['running', 'awaiting-approval', 'completed', 'failed', 'cancelled'];

interface OffboardOptions extends ApiCommandOptions {
  execute?: boolean;
  reason?: string;
  follow: boolean;
}

/** An offboarding kind: its own options, and how they become the body of POST /offboardings. */
interface Kind {
  name: string;
  description: string;
  options(command: Command): Command;
  body(options: Record<string, unknown>): Record<string, unknown>;
  /** The command line again, for the dry run's "to carry it out" hint. */
  commandLine(options: Record<string, unknown>): string;
  examples: string[];
}

const clientOption = (what: string) => new Option('--client <number>', what).makeOptionMandatory();

const kinds: Kind[] = [
  {
    name: 'revoke-contact-access',
    description: 'a contact may no longer see its company in the portals (default: both); the person keeps every other access',
    options: (command) =>
      command
        .addOption(new Option('--contact <id>', 'the contact').argParser(positiveInteger('--contact')).makeOptionMandatory())
        .addOption(new Option('--portals <portals...>', `only these portals (${portals.join(', ')}); default: both`).argParser(listOf(portals))),
    body: (options) => ({ kind: 'revoke-contact-access', contactId: options.contact, ...(options.portals ? { portals: options.portals } : {}) }),
    commandLine: (options) =>
      `--contact ${String(options.contact)}${Array.isArray(options.portals) ? ` --portals ${options.portals.join(',')}` : ''}`,
    examples: ['portal-sync offboard revoke-contact-access --contact 12 --portals clientOnline', 'portal-sync offboard revoke-contact-access --contact 12 --execute'],
  },
  {
    name: 'person-leaves',
    description: 'a person client leaves companies (default: every company where a follower of the person is a contact) and stops as a client',
    options: (command) =>
      command
        .addOption(clientOption('the person client'))
        .addOption(new Option('--companies <numbers...>', 'only these companies; default: every company where he follows').argParser(listOf())),
    body: (options) => ({ kind: 'person-leaves', clientNumber: options.client, ...(options.companies ? { companies: options.companies } : {}) }),
    commandLine: (options) =>
      `--client ${String(options.client)}${Array.isArray(options.companies) ? ` --companies ${options.companies.join(',')}` : ''}`,
    examples: ['portal-sync offboard person-leaves --client 2002 --companies 1001,1002', 'portal-sync offboard person-leaves --client 2002 --execute'],
  },
  {
    name: 'person-deceased',
    description: 'a person client has died: every access of that person ends, on both portals, at every company',
    options: (command) => command.addOption(clientOption('the person client')),
    body: (options) => ({ kind: 'person-deceased', clientNumber: options.client }),
    commandLine: (options) => `--client ${String(options.client)}`,
    examples: ['portal-sync offboard person-deceased --client 2001', 'portal-sync offboard person-deceased --client 2001 --execute --reason "deceased 1 May"'],
  },
  {
    name: 'client-leaves',
    description: "a company stops as a client: its contacts lose access to it; a person who is also a contact there keeps his own client and his other companies",
    options: (command) => command.addOption(clientOption('the company')),
    body: (options) => ({ kind: 'client-leaves', clientNumber: options.client }),
    commandLine: (options) => `--client ${String(options.client)}`,
    examples: ['portal-sync offboard client-leaves --client 1001', 'portal-sync offboard client-leaves --client 1001 --execute --reason "contract ended"'],
  },
];

/** `offboard <kind>`: one subcommand per kind, a dry run unless --execute. */
function registerOffboardCommand(program: Command): void {
  const offboard = program
    .command('offboard')
    .summary('plan an offboarding (dry run), or carry it out with --execute')
    .description(
      'offboard people and clients bottom-up in the safe order (POST /offboardings). A dry run by default: prints the plan, changes nothing. ' +
        'With --execute it carries the plan out and follows it live until it has finished',
    )
    .addHelpText('after', examples(...kinds.flatMap((kind) => kind.examples.slice(0, 1)), 'portal-sync offboard client-leaves --help'));

  for (const kind of kinds) registerOffboardKind(offboard, kind);
}

function registerOffboardKind(offboard: Command, kind: Kind): void {
  const command = withApiOptions(kind.options(offboard.command(kind.name).description(kind.description)))
    .option('--execute', 'carry it out (default: a dry run that prints the plan and changes nothing)')
    .option('--reason <text>', 'why; kept with the offboarding, never sent to a portal or to Temporal')
    .option('--no-follow', 'with --execute: answer once it has started instead of following it to the end')
    .addHelpText('after', examples(...kind.examples));
  command.action(exitWith(async (options: OffboardOptions & Record<string, unknown>) => {
    const { api, out } = apiAndOutput(options);
    const body = { ...kind.body(options), ...(options.reason === undefined ? {} : { reason: options.reason }) };
    if (!options.execute) {
      const dryRun = await api.post<OffboardingDryRun>('/offboardings', body);
      const reason = options.reason === undefined ? '' : ` --reason ${JSON.stringify(options.reason)}`;
      out.result(dryRun, (value) => describeDryRun(value, `portal-sync offboard ${kind.name} ${kind.commandLine(options)}${reason} --execute`));
      return exitCodes.ok;
    }
    const started = await api.post<OffboardingStarted>('/offboardings', { ...body, execute: true });
    if (!options.follow) {
      out.result(started, (value) => [
        `Offboarding ${value.id} started (${value.status}): ${value.plan.steps.length} steps, workflow ${value.workflowId}.`,
        `Follow it with \`portal-sync offboarding ${value.id} --follow\`.`,
      ]);
      return exitCodes.ok;
    }
    out.say(`Offboarding ${started.id} started: ${started.plan.steps.length} steps, workflow ${started.workflowId}.`);
    return finish(await followOffboarding(api, started.id, out), out);
  }));
}

/** `approve <id>` or `cancel <id>`: the decision, then following the offboarding to its end. */
function registerDecisionCommand(program: Command, name: 'approve' | 'cancel', summary: string, description: string, example: string): void {
  withApiOptions(
    program
      .command(name)
      .summary(summary)
      .description(description)
      .argument('<id>', 'the offboarding', positiveInteger('an offboarding id'))
      .option('--no-follow', 'answer at once instead of following the offboarding to the end'),
  )
    .addHelpText('after', examples(example, `${example} --no-follow --json`))
    .action(exitWith(async (id: number, options: ApiCommandOptions & { follow: boolean }) => {
      const { api, out } = apiAndOutput(options);
      const record = await api.post<Offboarding>(`/offboardings/${id}/${name}`);
      const asked = name === 'cancel' ? 'cancelled' : 'completed';
      if (!options.follow || isFinished(record)) {
        out.result(record, (value) => [...describeOffboarding(value), '', outcome(value)]);
        return exitCodeOf(record, asked);
      }
      out.say(name === 'approve' ? `Offboarding ${id} approved.` : `Offboarding ${id}: cancel asked for; it stops before its next step.`);
      return finish(await followOffboarding(api, id, out), out, asked);
    }));
}

export function registerOffboardingCommands(program: Command): void {
  registerOffboardCommand(program);
  registerDecisionCommand(
    program,
    'approve',
    'approve an offboarding that waits for approval',
    'approve an offboarding that waits for approval (its plan ends more accesses than OFFBOARDING_APPROVAL_THRESHOLD, alone or with ' +
      "the same token's recent offboardings that needed none; `portal-sync offboarding <id>` says which) " +
      '(POST /offboardings/:id/approve), then follow it to the end: exit 0 when it completed, 1 when it failed or was cancelled. ' +
      'Four eyes: it takes another token than the one that asked for it, the built-in API_TOKEN included (that one gets exit 2, refused (403)): ' +
      'give your own operator token with --token or API_TOKEN (make one with `portal-sync tokens create --name <name> --role operator`)',
    'portal-sync approve 7',
  );
  registerDecisionCommand(
    program,
    'cancel',
    'cancel an offboarding before its next step',
    'cancel an offboarding: it stops before its next step; steps done stay done, the rest are not run (POST /offboardings/:id/cancel). ' +
      'Then follows it until it has stopped: exit 0 once it is cancelled, 1 when it ended otherwise',
    'portal-sync cancel 7',
  );
  registerOffboardingListCommand(program);
  registerOffboardingShowCommand(program);
}

function registerOffboardingListCommand(program: Command): void {
  withApiOptions(
    program
      .command('offboardings')
      .summary('list the offboardings')
      .description('the offboardings, newest first (GET /offboardings)')
      .addOption(new Option('--status <status>', 'only those with this status').choices(statuses)),
  )
    .addHelpText('after', examples('portal-sync offboardings', 'portal-sync offboardings --status awaiting-approval --json'))
    .action(async (options: ApiCommandOptions & { status?: string }) => {
      const { api, out } = apiAndOutput(options);
      const list = await api.get<OffboardingList>('/offboardings', { status: options.status });
      out.result(list, describeList);
    });
}

function registerOffboardingShowCommand(program: Command): void {
  withApiOptions(
    program
      .command('offboarding')
      .summary('one offboarding and its steps')
      .description('one offboarding: its status, approval, and every step with its own status (GET /offboardings/:id)')
      .argument('<id>', 'the offboarding', positiveInteger('an offboarding id'))
      .option('--follow', 'follow it live until it has finished; exits as `offboard --execute` does'),
  )
    .addHelpText('after', examples('portal-sync offboarding 7', 'portal-sync offboarding 7 --follow'))
    .action(exitWith(async (id: number, options: ApiCommandOptions & { follow?: boolean }) => {
      const { api, out } = apiAndOutput(options);
      if (options.follow) return finish(await followOffboarding(api, id, out), out);
      out.result(await api.get<Offboarding>(`/offboardings/${id}`), describeOffboarding);
      return exitCodes.ok;
    }));
}

/** The end of following: the record (with --json) or its outcome, and the exit code its status means. */
function finish(offboarding: Offboarding, out: Output, asked: 'completed' | 'cancelled' = 'completed'): ExitCode {
  if (out.json) out.result(offboarding, () => []);
  else out.say(outcome(offboarding));
  return exitCodeOf(offboarding, asked);
}

function describeList(list: OffboardingList): string[] {
  if (list.offboardings.length === 0) return ['No offboardings.'];
  const rows = list.offboardings.map((offboarding) => [
    String(offboarding.id),
    offboarding.kind,
    offboarding.status,
    offboarding.plan.clientNumbers.join(', '),
    String(offboarding.plan.steps.length),
    localDateTime(offboarding.createdAt),
    localDateTime(offboarding.finishedAt),
  ]);
  return table(['id', 'kind', 'status', 'clients', 'steps', 'requested', 'finished'], rows, '');
}
