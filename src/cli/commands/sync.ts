import { Option, type Command } from 'commander';
import type { ClientSyncStatus, SyncErrorList } from '../api-client';
import { plural, portalName, table, localDateTime } from '../format';
import { apiAndOutput, examples, positiveInteger, withApiOptions, type ApiCommandOptions } from '../options';

const portals = ['caseware', 'clientOnline'] as const;
/** The widest portal name ("CaseWare Cloud") and state ("not-linked"): the status lines align. */
const portalColumn = Math.max(...portals.map((portal) => portalName(portal).length));
const stateColumn = 'not-linked'.length;

export function registerSyncCommands(program: Command): void {
  withApiOptions(
    program
      .command('status')
      .summary("a client's sync status per portal")
      .description("how far each portal has caught up with a client's changes: its state, remote ids, open sync errors and undelivered changes (GET /sync/clients/:number)")
      .argument('<client>', 'the client number'),
  )
    .addHelpText('after', examples('portal-sync status 1001', 'portal-sync status 1001 --json'))
    .action(async (client: string, options: ApiCommandOptions) => {
      const { api, out } = apiAndOutput(options);
      const status = await api.get<ClientSyncStatus>(`/sync/clients/${encodeURIComponent(client)}`);
      out.result(status, describeStatus);
    });

  withApiOptions(
    program
      .command('errors')
      .summary('the sync errors, and the portals that cannot be used')
      .description('the sync errors: what the portals refused per record and what to do, most recently seen first; and the portals that cannot be used at all (GET /sync/errors)')
      .addOption(new Option('--portal <portal>', "only this portal's errors (and only its health)").choices(portals))
      .option('--client <number>', "only this client's errors")
      .option('--code <code>', 'only errors with this code, e.g. missing-email, shared-email')
      .option('--include-resolved', 'also list errors a later sync found fixed')
      .option('--limit <n>', 'at most this many errors (1-1000; the API default is 100)', positiveInteger('--limit')),
  )
    .addHelpText(
      'after',
      examples('portal-sync errors', 'portal-sync errors --portal caseware --code shared-email', 'portal-sync errors --client 1002 --include-resolved --json'),
    )
    .action(async (options: ApiCommandOptions & { portal?: string; client?: string; code?: string; includeResolved?: boolean; limit?: number }) => {
      const { api, out } = apiAndOutput(options);
      const list = await api.get<SyncErrorList>('/sync/errors', {
        portal: options.portal,
        clientNumber: options.client,
        code: options.code,
        includeResolved: options.includeResolved ? true : undefined,
        limit: options.limit,
      });
      out.result(list, (value) => describeErrors(value, options.includeResolved === true));
    });
}

function describeStatus(status: ClientSyncStatus): string[] {
  const lines = [`Client ${status.clientNumber}`];
  for (const portal of portals) {
    const state = status[portal];
    // The state says whether the client is linked; a portal it is not linked to has no last sync.
    const lastSync = state.state === 'not-linked' ? '' : `last sync ${localDateTime(state.lastSyncedAt)}`;
    lines.push(`  ${portalName(portal).padEnd(portalColumn)}  ${state.state.padEnd(stateColumn)}  ${lastSync}`.trimEnd());
    if (state.remote.length > 0) {
      lines.push(
        ...table(
          ['record', 'remote id', 'access', 'synced'],
          state.remote.map((record) => [`${record.recordType} ${record.recordId}`, record.remoteId ?? '-', record.access, localDateTime(record.syncedAt)]),
          '      ',
        ),
      );
    }
  }
  const errors = portals.flatMap((portal) => status[portal].errors);
  if (errors.length === 0) lines.push('  No open sync errors.');
  else {
    lines.push(`  ${plural(errors.length, 'open sync error')}:`);
    lines.push(...errors.map((error) => `    ${portalName(error.portal)}, ${error.recordType} ${error.recordId}: ${error.code}: ${error.message}`));
  }
  const pending = status.pendingEvents;
  if (pending.length === 0) lines.push('  Every change has been handed to the sync.');
  else {
    const failing = pending.find((event) => event.lastError !== null);
    lines.push(
      `  ${plural(pending.length, 'change')} not yet handed to the sync (oldest ${localDateTime(pending[0]?.createdAt)})` +
        (failing ? `; last delivery error: ${failing.lastError}` : ''),
    );
  }
  return lines;
}

function describeErrors(list: SyncErrorList, includeResolved: boolean): string[] {
  const kind = includeResolved ? 'sync error' : 'open sync error';
  const lines: string[] = [];
  if (list.errors.length === 0) lines.push(`No ${kind}s.`);
  else {
    lines.push(list.total > list.errors.length ? `${plural(list.total, kind)}, the ${list.errors.length} most recently seen:` : `${plural(list.total, kind)}:`);
    lines.push(
      ...table(
        ['last seen', 'portal', 'client', 'record', 'code', 'attempts', ...(includeResolved ? ['resolved'] : []), 'message'],
        list.errors.map((error) => [
          localDateTime(error.lastSeenAt),
          portalName(error.portal),
          error.clientNumber,
          `${error.recordType} ${error.recordId}`,
          error.code,
          String(error.attempts),
          ...(includeResolved ? [localDateTime(error.resolvedAt)] : []),
          error.message,
        ]),
      ),
    );
  }
  if (list.portals.length > 0) {
    lines.push('', 'Portals that cannot be used at all (every client waits for them):');
    for (const portal of list.portals) {
      const last = portal.lastFailure ? `; last: ${portal.lastFailure.code}: ${portal.lastFailure.message}` : '';
      lines.push(`  ${portalName(portal.portal)}: since ${localDateTime(portal.since)}, ${plural(portal.failures, 'failure')}${last}`);
    }
  }
  return lines;
}
