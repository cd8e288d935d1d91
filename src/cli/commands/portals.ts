import { Argument, type Command } from 'commander';
import type { MailApproval, PortalHeld, PortalReleased, SyncHealth } from '../api-client';
import { plural, portalName, table, localDateTime } from '../format';
import { apiAndOutput, examples, withApiOptions, type ApiCommandOptions } from '../options';

// The portals as a whole (issue 17): whether each can be used, holding and releasing one, and the
// credentials mails the guard holds for approval. docs/portal-rules.md, "Holding a portal" and "Credentials-mail guard".

const portals = ['caseware', 'clientOnline'] as const;
type PortalArgument = (typeof portals)[number];

const portalArgument = () => new Argument('<portal>', 'caseware (CaseWare Cloud) or clientOnline (Client Online)').choices(portals);

function registerHealthCommand(program: Command): void {
  withApiOptions(
    program
      .command('health')
      .summary('each portal: usable or not, held or not, and the new logins held for approval')
      .description(
        'per portal: whether it can be used at all (credentials, permissions), whether an operator holds it (who, since when, how many ' +
          'clients wait), and the credentials-mail guard: new logins held for approval, with their record ids (GET /sync/health)',
      ),
  )
    .addHelpText('after', examples('portal-sync health', 'portal-sync health --json'))
    .action(async (options: ApiCommandOptions) => {
      const { api, out } = apiAndOutput(options);
      out.result(await api.get<SyncHealth>('/sync/health'), describeHealth);
    });
}

function registerHoldCommand(program: Command): void {
  withApiOptions(
    program
      .command('hold')
      .summary('hold a portal: nothing is written to it until it is released')
      .description(
        'hold a portal (PUT /sync/portals/:portal/hold): nothing is written to it, changes keep accumulating and nothing is lost; each ' +
          "client's changes wait, pending, until `portal-sync release`. For a maintenance window, or a go-live: hold, preview " +
          '(`portal-sync reconcile --dry-run --wait`), release. Holding a held portal changes nothing',
      )
      .addArgument(portalArgument())
      .option('--note <text>', 'why, for the other operators (at most 500 characters)'),
  )
    .addHelpText('after', examples('portal-sync hold caseware --note "CaseWare maintenance 22:00-23:00"', 'portal-sync hold clientOnline'))
    .action(async (portal: PortalArgument, options: ApiCommandOptions & { note?: string }) => {
      const { api, out } = apiAndOutput(options);
      const held = await api.put<PortalHeld>(`/sync/portals/${portal}/hold`, options.note === undefined ? undefined : { note: options.note });
      out.result(held, (value) => [
        value.alreadyHeld
          ? `${portalName(portal)} was held already, by ${value.hold.heldBy} since ${localDateTime(value.hold.heldAt)}; nothing changed.`
          : `${portalName(portal)} is held: nothing is written to it until \`portal-sync release ${portal}\`.`,
        ...(value.hold.note ? [`  Note: ${value.hold.note}`] : []),
        `  ${plural(value.hold.heldClients, 'client')} waiting.`,
      ]);
    });
}

function registerReleaseCommand(program: Command): void {
  withApiOptions(
    program
      .command('release')
      .summary('release a held portal: every client whose changes waited syncs now, once')
      .description('release a held portal (DELETE /sync/portals/:portal/hold): every client whose changes waited syncs now, once. Releasing a portal that is not held changes nothing')
      .addArgument(portalArgument()),
  )
    .addHelpText('after', examples('portal-sync release caseware'))
    .action(async (portal: PortalArgument, options: ApiCommandOptions) => {
      const { api, out } = apiAndOutput(options);
      const released = await api.delete<PortalReleased>(`/sync/portals/${portal}/hold`);
      out.result(released, (value) => [
        value.released
          ? `${portalName(portal)} is released: ${plural(value.clients, 'client')} sync now.`
          : `${portalName(portal)} was not held; nothing changed.`,
      ]);
    });
}

function registerApproveMailsCommand(program: Command): void {
  withApiOptions(
    program
      .command('approve-mails')
      .summary('approve the new logins the credentials-mail guard holds (two different operator tokens)')
      .description(
        'approve the new logins the credentials-mail guard holds at a portal (POST /sync/portals/:portal/approve-mails). Four eyes: the ' +
          'first approval covers the logins held at that moment and waits for a second operator token; the second, by another token, ' +
          'lets them through and each is created, and mailed, once. The token that approved first is refused (exit 2). ' +
          '`portal-sync health` lists what is held',
      )
      .addArgument(portalArgument()),
  )
    .addHelpText(
      'after',
      examples('portal-sync health', 'portal-sync approve-mails caseware', 'API_TOKEN=<an operator token of your own> portal-sync approve-mails caseware'),
    )
    .action(async (portal: PortalArgument, options: ApiCommandOptions) => {
      const { api, out } = apiAndOutput(options);
      const approval = await api.post<MailApproval>(`/sync/portals/${portal}/approve-mails`);
      out.result(approval, (value) => [
        value.status === 'released'
          ? `Released: ${plural(value.released, 'new login')} of ${portalName(portal)} (approved by ${value.firstApprover} and ${value.secondApprover}); ${plural(value.clients, 'client')} sync now.`
          : `Approved once, by ${value.firstApprover}, covering ${plural(value.stillHeld, 'held new login')} of ${portalName(portal)}: a second operator token must approve too (four eyes).`,
        ...(value.status === 'released' && value.stillHeld > 0 ? [`  ${plural(value.stillHeld, 'new login')} held since the first approval wait for the next two.`] : []),
      ]);
    });
}

export function registerPortalCommands(program: Command): void {
  registerHealthCommand(program);
  registerHoldCommand(program);
  registerReleaseCommand(program);
  registerApproveMailsCommand(program);
}

function describeHealth(health: SyncHealth): string[] {
  const lines: string[] = [];
  for (const portal of portals) {
    const status = health[portal];
    lines.push(`${portalName(portal)}`);
    lines.push(
      status.healthy
        ? '  Working.'
        : `  Cannot be used since ${localDateTime(status.since)} (${plural(status.failures, 'failure')})` +
            (status.lastFailure ? `: ${status.lastFailure.code}: ${status.lastFailure.message}` : ''),
    );
    const hold = status.hold;
    if (hold) {
      lines.push(`  Held by ${hold.heldBy} since ${localDateTime(hold.heldAt)}${hold.note ? ` (${hold.note})` : ''}: nothing is written to it; ${plural(hold.heldClients, 'client')} waiting.`);
      lines.push(`    Release it with \`portal-sync release ${portal}\`.`);
    }
    const mails = status.credentialsMails;
    lines.push(
      mails.threshold === 0
        ? '  Credentials-mail guard: off.'
        : `  Credentials-mail guard: ${mails.sentInWindow} of ${mails.threshold} new logins in the last ${mails.windowMinutes} minutes; ${plural(mails.held, 'held for approval', 'held for approval')}.`,
    );
    if (mails.held > 0) {
      lines.push(
        ...table(
          ['held', 'client', 'record', 'since', 'why'],
          mails.heldCreations.map((creation) => [
            String(creation.id),
            creation.clientNumber,
            `${creation.recordType} ${creation.recordId}`,
            localDateTime(creation.heldAt),
            creation.reason === 'recreation' ? 'made again: gone from the portal' : 'beyond the threshold',
          ]),
          '    ',
        ),
      );
      if (mails.held > mails.heldCreations.length) lines.push(`    … and ${mails.held - mails.heldCreations.length} more (${plural(mails.heldClients, 'client')} in all).`);
      lines.push(
        mails.approval
          ? `    Approved once, by ${mails.approval.approvedBy} at ${localDateTime(mails.approval.approvedAt)} (${mails.approval.covers} of them): a second operator token approves with \`portal-sync approve-mails ${portal}\`.`
          : `    Approve them with \`portal-sync approve-mails ${portal}\`, then a second operator token does the same (four eyes).`,
      );
    }
  }
  return lines;
}
