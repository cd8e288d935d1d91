import type { Client } from '@temporalio/client';
import { round } from './context';

// Temporal history events of client workflows: what a change costs Temporal.

export interface HistoryCount {
  workflows: number;
  events: number;
  /** Activities scheduled (portal syncs). */
  activities: number;
  /** Events by type (e.g. ActivityTaskScheduled), over every workflow counted. */
  byType: Record<string, number>;
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
  const count: HistoryCount = { workflows: 0, events: 0, activities: 0, byType: {} };
  for (const workflowId of workflowIds) {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    count.workflows += 1;
    for (const event of history.events ?? []) {
      const type = eventType(event);
      count.events += 1;
      count.byType[type] = (count.byType[type] ?? 0) + 1;
      if (type === 'ActivityTaskScheduled') count.activities += 1;
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
    byTypePerChange: Object.fromEntries(
      Object.entries(count.byType)
        .sort(([, a], [, b]) => b - a)
        .map(([type, n]) => [type, round(n / changes, 2)]),
    ),
  };
}
