import type { Offboarding, OffboardingDryRun, PortalSyncApi } from './api-client';
import { exitCodes, type ExitCode } from './exit-codes';
import { follow } from './follow';
import { plural, portalName, table, localDateTime } from './format';
import type { Output } from './output';

type Plan = OffboardingDryRun['plan'];
type Step = Offboarding['steps'][number];
type Status = Offboarding['status'];

const finished: readonly Status[] = ['completed', 'failed', 'cancelled'];

export function isFinished(offboarding: Pick<Offboarding, 'status'>): boolean {
  return finished.includes(offboarding.status);
}

/**
 * The exit code of an offboarding that was followed: 0 when it ended as asked (completed; for
 * `cancel`, cancelled), 1 when it ended otherwise (failed, or cancelled when it should complete).
 * One still running has not failed: 0.
 */
export function exitCodeOf(offboarding: Pick<Offboarding, 'status'>, asked: 'completed' | 'cancelled' = 'completed'): ExitCode {
  if (!isFinished(offboarding)) return exitCodes.ok;
  return offboarding.status === asked ? exitCodes.ok : exitCodes.failed;
}

/** "client-leaves of client 1001"; the clients it touches too when they are more than that one. */
function requestText(request: Plan['request'], clientNumbers: readonly string[]): string {
  const clientNumber = typeof request.clientNumber === 'string' ? request.clientNumber : undefined;
  const subject = clientNumber === undefined ? `contact ${String(request.contactId)}` : `client ${clientNumber}`;
  const onlyItself = clientNumbers.length === 1 && clientNumbers[0] === clientNumber;
  const clients = clientNumbers.length > 0 && !onlyItself ? ` (${clientNumbers.length === 1 ? 'client' : 'clients'} ${clientNumbers.join(', ')})` : '';
  return `${request.kind} of ${subject}${clients}`;
}

function effectLines(effects: Plan['steps'][number]['effects']): string[] {
  return (['caseware', 'clientOnline'] as const).flatMap((portal) =>
    effects[portal].length === 0 ? [`${portalName(portal)}: no change`] : effects[portal].map((effect) => `${portalName(portal)}: ${effect}`),
  );
}

/** Every access that ends, and per portal what that is. */
function removesText(removes: Plan['removes']): string {
  const { caseware, clientOnline } = removes.accessEnded;
  return (
    `ends ${plural(caseware + clientOnline, 'access', 'accesses')}: ${caseware} at CaseWare Cloud (contacts losing a client) and ` +
    `${clientOnline} at Client Online (logins losing a client; ${plural(removes.logins, 'login')} deleted)`
  );
}

/** The dry run's plan as a table: every step, with what each portal will do under it. */
export function describeDryRun(dryRun: OffboardingDryRun, executeHint: string): string[] {
  const { plan } = dryRun;
  return [
    `Dry run: ${requestText(plan.request, plan.clientNumbers)} takes ${plural(plan.steps.length, 'step')}, in this order. Nothing has been changed.`,
    '',
    ...table(
      ['step', 'action', 'record', 'client', 'what'],
      plan.steps.map((step) => ({
        cells: [
          String(step.step),
          step.action,
          step.contactId === undefined ? `client ${step.clientNumber}` : `contact ${step.contactId}`,
          step.clientNumber,
          step.summary,
        ],
        details: effectLines(step.effects),
      })),
    ),
    '',
    `It ${removesText(plan.removes)}.`,
    approvalOutlook(dryRun),
    ...dryRun.alreadyUnderWay.map((other) => `Offboarding ${other.id} holds these records (${other.status}): carrying this one out is refused until it has finished.`),
    `To carry it out: ${executeHint}`,
  ];
}

/** Whether carrying the plan out now, with this token, would wait for a second operator's approval. */
function approvalOutlook(dryRun: OffboardingDryRun): string {
  if (dryRun.approvalRequired === undefined) {
    return (
      'A plan waits for approval when its accesses ended, with those of the same token\'s offboardings that needed no approval in the last ' +
      'OFFBOARDING_APPROVAL_WINDOW_HOURS (default 24), are more than OFFBOARDING_APPROVAL_THRESHOLD (default 10).'
    );
  }
  if (dryRun.approvalRequired) {
    return `Carried out, it will wait for a second operator's approval before anything changes: ${dryRun.approvalReason ?? 'more accesses than the approval threshold'}.`;
  }
  return 'Carried out now, it starts at once: within the approval threshold.';
}

const stepStatusText: Record<Step['status'], string> = {
  pending: 'pending',
  applying: 'applying',
  'waiting-for-portals': 'waiting for the portals',
  done: 'done',
  'not-run': 'not run',
};

/** A step's status in words; a refused one says so (it waits for a later sync to get the change through). */
function stepState(step: Step): string {
  return step.refusal && step.status === 'waiting-for-portals' ? 'refused, waiting' : stepStatusText[step.status];
}

function stepMark(step: Step, spinner: string): string {
  if (step.status === 'done') return '✔';
  if (step.status === 'not-run') return '✖';
  if (step.status === 'pending') return '·';
  return spinner;
}

/** A client by its number, as people know it; a contact by its id. */
function recordText(step: Pick<Step, 'contactId' | 'clientNumber'>): string {
  return step.contactId === undefined ? `client ${step.clientNumber}` : `contact ${step.contactId}`;
}

function headline(offboarding: Offboarding): string {
  const current = offboarding.steps.find((step) => step.status !== 'done' && step.status !== 'not-run' && step.status !== 'pending');
  const where = current ? `, step ${current.step} of ${offboarding.steps.length}` : '';
  return `Offboarding ${offboarding.id}, ${requestText(offboarding.plan.request, offboarding.plan.clientNumbers)}: ${offboarding.status}${
    offboarding.status === 'running' ? where : ''
  }`;
}

/** Why it waits, and what to do: three sentences, one line each on a terminal. */
function approvalHint(offboarding: Offboarding): [string, string, string] {
  const reason = offboarding.approvalReason ?? `it ${removesText(offboarding.plan.removes)}, more than the approval threshold`;
  return [
    `${reason.charAt(0).toUpperCase()}${reason.slice(1)}`,
    `Approve it with \`portal-sync approve ${offboarding.id}\`, or cancel it with \`portal-sync cancel ${offboarding.id}\``,
    `Four eyes: token "${offboarding.requestedBy}" asked for it, so a second operator token approves it (--token or API_TOKEN)`,
  ];
}

function stepRows(offboarding: Offboarding, spinner: string): string[] {
  return table(
    ['', 'step', 'action', 'record', 'status', 'what'],
    offboarding.steps.map((step) => [stepMark(step, spinner), String(step.step), step.action, recordText(step), stepState(step), step.summary]),
  );
}

/** What a portal refused of a step, a line each, under the step list. */
function refusalLines(offboarding: Offboarding): string[] {
  return offboarding.steps.flatMap((step) => (step.refusal ? [`  step ${step.step} refused: ${step.refusal}`] : []));
}

/** One offboarding, as `portal-sync offboarding <id>` shows it. */
export function describeOffboarding(offboarding: Offboarding): string[] {
  const approval = !offboarding.approvalRequired
    ? 'not required'
    : offboarding.approvedAt
      ? `approved ${localDateTime(offboarding.approvedAt)} by ${offboarding.approvedBy ?? '?'}`
      : 'required, not given';
  return [
    headline(offboarding),
    `  requested   ${localDateTime(offboarding.createdAt)} by ${offboarding.requestedBy}${offboarding.reason ? `; reason: ${offboarding.reason}` : ''}`,
    `  approval    ${approval}`,
    `  workflow    ${offboarding.workflowId}`,
    ...(offboarding.finishedAt ? [`  finished    ${localDateTime(offboarding.finishedAt)}`] : []),
    ...(offboarding.cancelledBy ? [`  cancelled   by ${offboarding.cancelledBy}`] : []),
    ...(offboarding.failure ? [`  failure     ${offboarding.failure}`] : []),
    ...(offboarding.status === 'awaiting-approval' ? [`  waiting     ${approvalHint(offboarding).join('. ')}.`] : []),
    '',
    ...stepRows(offboarding, '…'),
    ...refusalLines(offboarding),
  ];
}

/** The closing line of a followed offboarding. */
export function outcome(offboarding: Offboarding): string {
  const done = offboarding.steps.filter((step) => step.status === 'done').length;
  const total = offboarding.steps.length;
  switch (offboarding.status) {
    case 'completed':
      return `Offboarding ${offboarding.id} completed: ${done} of ${plural(total, 'step')} done.`;
    case 'failed':
      return `Offboarding ${offboarding.id} failed: ${offboarding.failure ?? 'no reason recorded'}. Steps done stay done: ${done} of ${total}.`;
    case 'cancelled':
      return `Offboarding ${offboarding.id} was cancelled${offboarding.cancelledBy ? ` by ${offboarding.cancelledBy}` : ''}: ${done} of ${plural(total, 'step')} done, the rest not run.`;
    default:
      return `Offboarding ${offboarding.id} is ${offboarding.status}; follow it with \`portal-sync offboarding ${offboarding.id} --follow\`.`;
  }
}

/**
 * Follows an offboarding until it has finished (completed, failed or cancelled), polling
 * GET /offboardings/:id: a live step list on a terminal, a line per change elsewhere, the final
 * record alone with --json. One waiting for approval is followed too, until someone approves or
 * cancels it.
 */
export function followOffboarding(api: PortalSyncApi, id: number, out: Output): Promise<Offboarding> {
  const reported: ReportedProgress = { status: '', steps: new Map() };
  return follow<Offboarding>({
    out,
    intervalMs: 500,
    read: () => api.get<Offboarding>(`/offboardings/${id}`),
    finished: isFinished,
    goesOn: `offboarding ${id} goes on; follow it again with \`portal-sync offboarding ${id} --follow\``,
    show(offboarding, view) {
      for (const line of progressLines(reported, offboarding)) view.change(line);
      view.frame((spinner) => [
        headline(offboarding),
        ...(offboarding.status === 'awaiting-approval' ? approvalHint(offboarding).map((line, index) => `  ${index === 0 ? 'Waiting for approval. ' : ''}${line}.`) : []),
        ...stepRows(offboarding, spinner),
        ...refusalLines(offboarding),
      ]);
    },
  });
}

/** What a follower has printed so far: the offboarding's status, and each step's state. */
export interface ReportedProgress {
  status: string;
  steps: Map<number, string>;
}

/**
 * The lines a follower prints (off a terminal) for what changed since `reported`, which it updates.
 * A step that has not started says nothing (the plan was shown); the end ("completed") comes after
 * the last step's "done" that the same look found.
 */
export function progressLines(reported: ReportedProgress, offboarding: Offboarding): string[] {
  const { id } = offboarding;
  const statusLines: string[] = [];
  if (offboarding.status !== reported.status) {
    reported.status = offboarding.status;
    statusLines.push(
      offboarding.status === 'awaiting-approval'
        ? `offboarding ${id}: awaiting approval. ${approvalHint(offboarding).join('. ')}.`
        : `offboarding ${id}: ${offboarding.status}`,
    );
  }
  const stepLines: string[] = [];
  for (const step of offboarding.steps) {
    const state = stepState(step);
    if (reported.steps.get(step.step) === state || (step.status === 'pending' && !reported.steps.has(step.step))) continue;
    reported.steps.set(step.step, state);
    stepLines.push(`step ${step.step} of ${offboarding.steps.length}, ${step.action} ${recordText(step)}: ${state}${step.refusal ? `. ${step.refusal}` : ''}`);
  }
  return isFinished(offboarding) ? [...stepLines, ...statusLines] : [...statusLines, ...stepLines];
}
