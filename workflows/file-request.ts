import {
  condition,
  continueAsNew,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { FileRequestActivities, FileRequestState } from '../activities/file-requests';
import type { FileRequestTimings } from '../src/domain/file-requests';
import {
  cancelFileRequestSignal,
  fileRequestProgressQuery,
  fileRequestStageSearchAttribute,
  type FileRequestProgress,
  type FileRequestStage,
} from './file-request-definitions';
import { reminderSchedule } from './file-request-schedule';

/** What one run hands the next at continue-as-new. */
export interface FileRequestCarried {
  /** When the request started; before-due reminders already behind it then are skipped. */
  startedAt: number;
  remindersSent: number;
  /** How many of the reminders on the schedule are done (sent, or passed over). */
  scheduleDone: number;
  overdue: boolean;
  recipients: number;
}

export interface FileRequestInput {
  fileRequestId: number;
  /** Epoch milliseconds; null: no due date. */
  dueAt: number | null;
  timings: FileRequestTimings;
  /** Absent on the first run: the request is still to be created in CaseWare Cloud. */
  carried?: FileRequestCarried;
}

const retry = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' } as const;
const activities = proxyActivities<FileRequestActivities>({ startToCloseTimeout: '1 minute', retry });

/** Enough history for months of polling at a few events per look, far from Temporal's limits. */
const looksPerRun = 500;

/**
 * One file request (id `file-request-<id>`): creates it in CaseWare Cloud, then follows it with
 * durable timers until a contact answers, staff cancel it, or nobody is left who can answer:
 * it looks at the portal every `pollIntervalMs` (and re-checks that each recipient still has
 * access), reminds on the schedule, and marks it overdue at the due date. The history carries the
 * request's id, times and counts; subject, description and recipients stay in the registry.
 */
export async function fileRequestWorkflow(input: FileRequestInput): Promise<FileRequestProgress> {
  const { fileRequestId, dueAt, timings } = input;
  const carried: FileRequestCarried = input.carried ?? { startedAt: Date.now(), remindersSent: 0, scheduleDone: 0, overdue: false, recipients: 0 };
  const progress: FileRequestProgress = {
    stage: input.carried ? (carried.overdue ? 'overdue' : carried.remindersSent > 0 ? 'reminded' : 'waiting') : 'created',
    remindersSent: carried.remindersSent,
    recipients: carried.recipients,
  };
  let cancelledBy: string | undefined;
  setHandler(fileRequestProgressQuery, () => progress);
  setHandler(cancelFileRequestSignal, ({ cancelledBy: by }) => {
    cancelledBy ??= by;
  });

  const enter = (stage: FileRequestStage, details: string) => {
    progress.stage = stage;
    upsertSearchAttributes([{ key: fileRequestStageSearchAttribute, value: stage }]);
    setCurrentDetails(details);
  };
  const finish = (state: FileRequestState): FileRequestProgress | undefined => {
    progress.recipients = state.recipients;
    carried.recipients = state.recipients;
    switch (state.outcome) {
      case 'open':
        return undefined;
      case 'answered':
        enter('answered', 'answered in CaseWare Cloud');
        return progress;
      case 'cancelled':
        enter('cancelled', 'cancelled');
        return progress;
      case 'no-recipients':
        enter('no-recipients', 'every recipient lost access; flagged to the staff');
        return progress;
      case 'failed':
        enter('failed', 'CaseWare Cloud refused the request; see GET /file-requests/' + String(fileRequestId));
        return progress;
    }
  };

  if (!input.carried) {
    // A cancel that came with the first workflow task (staff cancelled at once, or no worker ran
    // yet) is already here: setHandler hands over the signals that came before it. Nothing is
    // created in CaseWare Cloud then, so nobody is mailed. One that arrives while the create is in flight
    // (including its retries while CaseWare is down) is taken right after it: the request is
    // created, mailed, and cancelled in the loop's first look.
    if (cancelledBy !== undefined) return finish(await activities.cancelFileRequestInPortal({ fileRequestId, cancelledBy })) ?? progress;
    const created = await activities.createFileRequestInPortal({ fileRequestId });
    const ended = finish(created);
    if (ended) return ended;
    enter('waiting', `sent to ${created.recipients} recipients; waiting for an answer`);
  }

  const schedule = reminderSchedule(dueAt, carried.startedAt, timings);
  for (let look = 0; ; look += 1) {
    const now = Date.now();
    const nextReminder = schedule[carried.scheduleDone];
    const wakeAt = Math.min(now + timings.pollIntervalMs, nextReminder ?? Infinity, dueAt !== null && !carried.overdue ? dueAt : Infinity);
    // A durable timer: a worker restart, or months, change nothing.
    await condition(() => cancelledBy !== undefined, Math.max(1, wakeAt - now));

    if (cancelledBy !== undefined) {
      const ended = finish(await activities.cancelFileRequestInPortal({ fileRequestId, cancelledBy }));
      return ended ?? progress;
    }
    // Looked at before any reminder, so an answered request is not reminded.
    const ended = finish(await activities.followFileRequest({ fileRequestId }));
    if (ended) return ended;

    if (dueAt !== null && !carried.overdue && Date.now() >= dueAt) {
      await activities.markFileRequestOverdue({ fileRequestId });
      carried.overdue = true;
      enter('overdue', 'past its due date; waiting for an answer');
    }
    // Reminders whose time has come; several passed at once (a worker down for days) send one.
    let due = 0;
    while (schedule[carried.scheduleDone] !== undefined && (schedule[carried.scheduleDone] as number) <= Date.now()) {
      carried.scheduleDone += 1;
      due += 1;
    }
    if (due > 0) {
      // Keyed by its place in the schedule: a retry of this reminder is the same reminder.
      const { sent } = await activities.sendFileRequestReminder({ fileRequestId, reminder: carried.scheduleDone });
      if (sent) {
        carried.remindersSent += 1;
        progress.remindersSent = carried.remindersSent;
        enter(carried.overdue ? 'overdue' : 'reminded', `reminder ${carried.remindersSent} sent${carried.overdue ? '; past its due date' : ''}`);
      }
    }

    if (look + 1 >= looksPerRun || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof fileRequestWorkflow>({ ...input, carried: { ...carried } });
    }
  }
}
