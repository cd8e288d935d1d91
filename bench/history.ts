import type { Client } from '@temporalio/client';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { round } from './context';

// Temporal history events of client workflows: what a change costs Temporal.

export interface HistoryCount {
  workflows: number;
  events: number;
  /** Portal sync attempts: first attempts run as local activities (markers), retries as activities scheduled. */
  activities: number;
  /** Of them, local activities (a `core_local_activity` marker each). */
  localActivities: number;
  /** Events by type (e.g. MarkerRecorded), over every workflow counted. */
  byType: Record<string, number>;
  /**
   * Activity attempts by the identity of the worker that ran them (`pid@host`): a regular activity's
   * is on its started event, a local activity's is the worker that completed its workflow task.
   */
  activitiesByWorker: Record<string, number>;
  /** Per workflow: when the first signal arrived, and the first run of each activity type. */
  timings: Map<string, WorkflowTimings>;
}

export interface WorkflowTimings {
  signaledAt?: number;
  /**
   * A local activity (a sync's first attempt): scheduled and started are when the workflow task
   * that ran it started; completed is when it finished (its marker's completion time); recorded is
   * when that workflow task completed and wrote its marker. A regular activity: its three events.
   */
  activities: Record<string, { local: boolean; scheduledAt?: number; startedAt?: number; completedAt?: number; recordedAt?: number }>;
}

type Timestamp = Parameters<typeof optionalTsToMs>[0];
type HistoryEvent = {
  eventId?: unknown;
  eventTime?: Timestamp;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
  activityTaskStartedEventAttributes?: { scheduledEventId?: unknown; identity?: string | null } | null;
  activityTaskCompletedEventAttributes?: { scheduledEventId?: unknown } | null;
  workflowTaskCompletedEventAttributes?: { startedEventId?: unknown; identity?: string | null } | null;
  markerRecordedEventAttributes?: {
    markerName?: string | null;
    details?: Record<string, { payloads?: { data?: Uint8Array | null }[] | null }> | null;
    workflowTaskCompletedEventId?: unknown;
    failure?: unknown;
  } | null;
};

/** A local activity's marker: its type, whether it failed, and when it completed (`complete_time`). */
function localActivityOf(event: HistoryEvent): { name: string; failed: boolean; completedAt?: number } | undefined {
  const marker = event.markerRecordedEventAttributes;
  const data = marker?.markerName === 'core_local_activity' ? marker.details?.data?.payloads?.[0]?.data : undefined;
  if (!data) return undefined;
  const parsed = JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: string; complete_time?: { seconds?: number; nanos?: number } | null };
  if (!parsed.activity_type) return undefined;
  const time = parsed.complete_time;
  return {
    name: parsed.activity_type,
    failed: Boolean(marker?.failure),
    completedAt: time ? (time.seconds ?? 0) * 1000 + Math.floor((time.nanos ?? 0) / 1e6) : undefined,
  };
}

function timingsOf(events: HistoryEvent[]): WorkflowTimings {
  const timings: WorkflowTimings = { activities: {} };
  const scheduled = new Map<string, string>();
  const byId = new Map(events.map((event) => [String(event.eventId), event]));
  for (const event of events) {
    const at = optionalTsToMs(event.eventTime);
    const type = eventType(event);
    if (type === 'WorkflowExecutionSignaled' && timings.signaledAt === undefined) timings.signaledAt = at;
    const local = localActivityOf(event);
    if (local && !local.failed && !timings.activities[local.name]) {
      const completed = byId.get(String(event.markerRecordedEventAttributes?.workflowTaskCompletedEventId));
      const started = byId.get(String(completed?.workflowTaskCompletedEventAttributes?.startedEventId));
      const startedAt = optionalTsToMs(started?.eventTime);
      timings.activities[local.name] = { local: true, scheduledAt: startedAt, startedAt, completedAt: local.completedAt, recordedAt: at };
    }
    const name = event.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name) {
      scheduled.set(String(event.eventId), name);
      timings.activities[name] ??= { local: false, scheduledAt: at };
    }
    const startedOf = scheduled.get(String(event.activityTaskStartedEventAttributes?.scheduledEventId));
    if (startedOf && !timings.activities[startedOf]!.local) timings.activities[startedOf]!.startedAt ??= at;
    const completedOf = scheduled.get(String(event.activityTaskCompletedEventAttributes?.scheduledEventId));
    if (completedOf && !timings.activities[completedOf]!.local) timings.activities[completedOf]!.completedAt ??= at;
  }
  return timings;
}

/** The type of an event, from the one `…EventAttributes` field it carries. */
function eventType(event: object): string {
  for (const [key, value] of Object.entries(event)) {
    if (key.endsWith('EventAttributes') && value !== null && value !== undefined) {
      const name = key.slice(0, -'EventAttributes'.length);
      return name.charAt(0).toUpperCase() + name.slice(1);
    }
  }
  return 'Unknown';
}

/** Counts the events of these workflows' histories (every run so far, the current one). */
export async function countHistories(client: Client, workflowIds: readonly string[]): Promise<HistoryCount> {
  const count: HistoryCount = { workflows: 0, events: 0, activities: 0, localActivities: 0, byType: {}, activitiesByWorker: {}, timings: new Map() };
  const ranOn = (identity: string | null | undefined) => {
    if (identity) count.activitiesByWorker[identity] = (count.activitiesByWorker[identity] ?? 0) + 1;
  };
  for (const workflowId of workflowIds) {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const events = (history.events ?? []) as HistoryEvent[];
    const byId = new Map(events.map((event) => [String(event.eventId), event]));
    count.workflows += 1;
    count.timings.set(workflowId, timingsOf(events));
    for (const event of events) {
      const type = eventType(event);
      count.events += 1;
      count.byType[type] = (count.byType[type] ?? 0) + 1;
      if (type === 'ActivityTaskScheduled') count.activities += 1;
      ranOn(event.activityTaskStartedEventAttributes?.identity);
      if (localActivityOf(event)) {
        count.activities += 1;
        count.localActivities += 1;
        ranOn(byId.get(String(event.markerRecordedEventAttributes?.workflowTaskCompletedEventId))?.workflowTaskCompletedEventAttributes?.identity);
      }
    }
  }
  return count;
}

/** Per change: each counted workflow saw `changesPerWorkflow` changes. */
export function perChange(count: HistoryCount, changesPerWorkflow: number) {
  const changes = count.workflows * changesPerWorkflow;
  return {
    workflows: count.workflows,
    eventsPerChange: round(count.events / changes, 1),
    activitiesPerChange: round(count.activities / changes, 2),
    localActivitiesPerChange: round(count.localActivities / changes, 2),
    activitiesByWorker: count.activitiesByWorker,
    byTypePerChange: Object.fromEntries(
      Object.entries(count.byType)
        .sort(([, a], [, b]) => b - a)
        .map(([type, n]) => [type, round(n / changes, 2)]),
    ),
  };
}
