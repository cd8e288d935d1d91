import type { Client } from '@temporalio/client';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { round } from './context';

// Temporal history events of client workflows: what a change costs Temporal.

export interface HistoryCount {
  workflows: number;
  events: number;
  /** Activities scheduled (portal syncs). */
  activities: number;
  /** Events by type (e.g. ActivityTaskScheduled), over every workflow counted. */
  byType: Record<string, number>;
  /** Activity attempts started, by the identity of the worker that ran them (`pid@host`). */
  activitiesByWorker: Record<string, number>;
  /** Per workflow: when the first signal arrived, and the first run of each activity type. */
  timings: Map<string, WorkflowTimings>;
}

export interface WorkflowTimings {
  signaledAt?: number;
  activities: Record<string, { scheduledAt?: number; startedAt?: number; completedAt?: number }>;
}

type HistoryEvent = {
  eventId?: unknown;
  eventTime?: Parameters<typeof optionalTsToMs>[0];
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
  activityTaskStartedEventAttributes?: { scheduledEventId?: unknown; identity?: string | null } | null;
  activityTaskCompletedEventAttributes?: { scheduledEventId?: unknown } | null;
};

function timingsOf(events: HistoryEvent[]): WorkflowTimings {
  const timings: WorkflowTimings = { activities: {} };
  const scheduled = new Map<string, string>();
  for (const event of events) {
    const at = optionalTsToMs(event.eventTime);
    const type = eventType(event);
    if (type === 'WorkflowExecutionSignaled' && timings.signaledAt === undefined) timings.signaledAt = at;
    const name = event.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name) {
      scheduled.set(String(event.eventId), name);
      timings.activities[name] ??= { scheduledAt: at };
    }
    const startedOf = scheduled.get(String(event.activityTaskStartedEventAttributes?.scheduledEventId));
    if (startedOf) timings.activities[startedOf]!.startedAt ??= at;
    const completedOf = scheduled.get(String(event.activityTaskCompletedEventAttributes?.scheduledEventId));
    if (completedOf) timings.activities[completedOf]!.completedAt ??= at;
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
  const count: HistoryCount = { workflows: 0, events: 0, activities: 0, byType: {}, activitiesByWorker: {}, timings: new Map() };
  for (const workflowId of workflowIds) {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    count.workflows += 1;
    count.timings.set(workflowId, timingsOf((history.events ?? [])));
    for (const event of history.events ?? []) {
      const type = eventType(event);
      count.events += 1;
      count.byType[type] = (count.byType[type] ?? 0) + 1;
      if (type === 'ActivityTaskScheduled') count.activities += 1;
      const identity = (event as HistoryEvent).activityTaskStartedEventAttributes?.identity;
      if (identity) count.activitiesByWorker[identity] = (count.activitiesByWorker[identity] ?? 0) + 1;
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
    activitiesByWorker: count.activitiesByWorker,
    byTypePerChange: Object.fromEntries(
      Object.entries(count.byType)
        .sort(([, a], [, b]) => b - a)
        .map(([type, n]) => [type, round(n / changes, 2)]),
    ),
  };
}
