import { Option, type Command } from 'commander';
import type { z } from 'zod';
import type { fileRequestListResponseSchema, fileRequestResponseSchema } from '../../api/file-request-schemas';
import { fileRequestStatuses } from '../../domain/file-requests';
import type { Wire } from '../api-client';
import { plural, table, localDateTime, localDateTimeWithZone } from '../format';
import { apiAndOutput, dueDate, examples, listOf, positiveInteger, withApiOptions, type ApiCommandOptions } from '../options';

/** `--contacts 12,13` (or repeated): contact ids. */
function contactIdList(value: string, previous: number[] | undefined): number[] {
  return [...(previous ?? []), ...listOf()(value, undefined).map(positiveInteger('--contacts'))];
}

type FileRequest = Wire<z.output<typeof fileRequestResponseSchema>>;
type FileRequestList = Wire<z.output<typeof fileRequestListResponseSchema>>;

export function registerFileRequestCommands(program: Command): void {
  withApiOptions(
    program
      .command('request-files')
      .summary('ask a client for files: a file request in CaseWare Cloud, followed until answered')
      .description(
        'creates a file request (POST /file-requests): by default for every contact of the client who may answer in CaseWare Cloud ' +
          '("Contact - Entity Staff"); reminders follow on the configured rhythm (FILE_REQUEST_*) until it is answered or cancelled',
      )
      .requiredOption('--client <number>', 'the client')
      .requiredOption('--subject <text>', 'what is asked for')
      .option('--description <text>', 'more about it, sent to the contacts', '')
      .option('--due <date>', 'due date: YYYY-MM-DD (end of that day, UTC) or an ISO moment with its offset', dueDate)
      .option('--contacts <ids>', 'only these contacts (ids, comma-separated)', contactIdList)
      .option('--grant-answer-role', 'give contacts that may only view (those named, or all when none is named) the role "Contact - Entity Staff"'),
  )
    .addHelpText(
      'after',
      examples(
        'portal-sync request-files --client 1001 --subject "Jaarstukken 2026" --due 2027-01-31',
        'portal-sync request-files --client 1001 --subject "Loonstroken" --contacts 12,13 --grant-answer-role --json',
      ),
    )
    .action(
      async (options: ApiCommandOptions & { client: string; subject: string; description: string; due?: string; contacts?: number[]; grantAnswerRole?: boolean }) => {
        const { api, out } = apiAndOutput(options);
        const contactIds = options.contacts;
        const created = await api.post<FileRequest>('/file-requests', {
          clientNumber: options.client,
          subject: options.subject,
          description: options.description,
          ...(options.due ? { dueDate: options.due } : {}),
          ...(contactIds ? { contactIds } : {}),
          ...(options.grantAnswerRole ? { grantAnswerRole: true } : {}),
        });
        out.result(created, describeFileRequest);
      },
    );

  withApiOptions(
    program
      .command('file-requests')
      .summary('the file requests, newest first')
      .description('the file requests and how far each got (GET /file-requests)')
      .option('--client <number>', "only this client's")
      .addOption(new Option('--status <status>', 'only those with this status').choices(fileRequestStatuses))
      .option('--limit <n>', 'at most this many (1-1000; default 100)', positiveInteger('--limit')),
  )
    .addHelpText('after', examples('portal-sync file-requests --status no-recipients', 'portal-sync file-requests --client 1001 --json'))
    .action(async (options: ApiCommandOptions & { client?: string; status?: string; limit?: number }) => {
      const { api, out } = apiAndOutput(options);
      const list = await api.get<FileRequestList>('/file-requests', { clientNumber: options.client, status: options.status, limit: options.limit });
      out.result(list, describeList);
    });

  withApiOptions(program.command('file-request').summary('one file request with its recipients').argument('<id>', 'the file request id', positiveInteger('<id>')))
    .addHelpText('after', examples('portal-sync file-request 7'))
    .action(async (id: number, options: ApiCommandOptions) => {
      const { api, out } = apiAndOutput(options);
      out.result(await api.get<FileRequest>(`/file-requests/${id}`), describeFileRequest);
    });

  withApiOptions(
    program
      .command('cancel-file-request')
      .summary('cancel an open file request, in CaseWare Cloud too')
      .argument('<id>', 'the file request id', positiveInteger('<id>')),
  )
    .addHelpText('after', examples('portal-sync cancel-file-request 7'))
    .action(async (id: number, options: ApiCommandOptions) => {
      const { api, out } = apiAndOutput(options);
      out.result(await api.post<FileRequest>(`/file-requests/${id}/cancel`), (request) => [
        `File request ${request.id}: cancel sent; it shows as cancelled once CaseWare Cloud has it (portal-sync file-request ${request.id}).`,
      ]);
    });
}

function describeFileRequest(request: FileRequest): string[] {
  const lines = [
    `File request ${request.id} for client ${request.clientNumber}: ${request.status}`,
    `  subject     ${request.subject}`,
    `  due         ${localDateTimeWithZone(request.dueAt)}`,
    `  reminders   ${request.remindersSent} (last ${localDateTime(request.lastRemindedAt)})`,
    `  workflow    ${request.workflowId}`,
  ];
  if (request.status === 'answered') lines.push(`  answered    by contact ${request.answeredByContactId ?? '-'}, ${plural(request.filesReceived, 'file')}`);
  if (request.failure) lines.push(`  note        ${request.failure}`);
  lines.push(
    ...table(
      ['contact', 'name', 'status', 'why removed'],
      request.recipients.map((r) => [String(r.contactId), r.name ?? '', r.status, r.removedReason ?? '']),
    ),
  );
  return lines;
}

function describeList(list: FileRequestList): string[] {
  if (list.fileRequests.length === 0) return ['No file requests.'];
  return table(
    ['id', 'client', 'status', 'due', 'reminders', 'recipients', 'subject'],
    list.fileRequests.map((r) => [
      String(r.id),
      r.clientNumber,
      r.status,
      localDateTimeWithZone(r.dueAt),
      String(r.remindersSent),
      String(r.recipients.filter((x) => x.status === 'active').length),
      r.subject,
    ]),
  );
}
