import type { temporal } from '@temporalio/proto';

// What a client workflow's history says about its portal syncs. A sync's first attempt runs as a
// local activity (a `core_local_activity` marker, recorded when its workflow task completes); if it
// fails retryably, the sync goes on as a regular activity (scheduled, started, completed), whose
// started event carries the attempt it finished on.

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export interface SyncInHistory {
  /** The activity type: `syncClientToCaseWare` or `syncClientToClientOnline`. */
  activity: string;
  /** Index in the history of the event that began it: the local attempt's marker, or the activity scheduled. */
  index: number;
  /** Attempts made so far: the local one, plus the regular activity's. */
  attempts: number;
  /** The local attempt failed, so the sync went on (or goes on) as a regular activity. */
  localAttemptFailed: boolean;
  completed: boolean;
}

const localActivityMarker = 'core_local_activity';

/** The activity type a local activity's marker records, and whether the attempt failed. */
export function localActivityOf(event: HistoryEvent): { activity: string; failed: boolean } | undefined {
  const marker = event.markerRecordedEventAttributes;
  if (marker?.markerName !== localActivityMarker) return undefined;
  const data = marker.details?.data?.payloads?.[0]?.data;
  if (!data) return undefined;
  const { activity_type: activity } = JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: string };
  return activity ? { activity, failed: Boolean(marker.failure) } : undefined;
}

/** The syncs in a history, oldest first. */
export function syncsInHistory(events: readonly HistoryEvent[]): SyncInHistory[] {
  const syncs: SyncInHistory[] = [];
  /** Per activity type: the sync whose local attempt failed, whose regular activity comes next. */
  const goingOn = new Map<string, SyncInHistory>();
  const scheduled = new Map<string, { sync: SyncInHistory; attemptsBefore: number }>();
  events.forEach((event, index) => {
    const local = localActivityOf(event);
    if (local) {
      const sync = { activity: local.activity, index, attempts: 1, localAttemptFailed: local.failed, completed: !local.failed };
      syncs.push(sync);
      if (local.failed) goingOn.set(local.activity, sync);
      else goingOn.delete(local.activity);
    }
    const activity = event.activityTaskScheduledEventAttributes?.activityType?.name;
    if (activity) {
      let sync = goingOn.get(activity);
      goingOn.delete(activity);
      if (!sync) {
        sync = { activity, index, attempts: 0, localAttemptFailed: false, completed: false };
        syncs.push(sync);
      }
      scheduled.set(String(event.eventId), { sync, attemptsBefore: sync.attempts });
    }
    const started = event.activityTaskStartedEventAttributes;
    const ofStarted = started && scheduled.get(String(started.scheduledEventId));
    if (ofStarted) ofStarted.sync.attempts = ofStarted.attemptsBefore + (started.attempt ?? 1);
    const ofCompleted = scheduled.get(String(event.activityTaskCompletedEventAttributes?.scheduledEventId));
    if (ofCompleted) ofCompleted.sync.completed = true;
  });
  return syncs;
}
