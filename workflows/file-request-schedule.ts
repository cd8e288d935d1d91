import type { FileRequestTimings } from '../src/domain/file-requests';

// Deterministic and free of Temporal APIs: the workflow uses it, and unit tests call it directly.

/**
 * The reminder times of a request, in order: before the due date (those still ahead when it
 * started), then every `remindAfterDueEveryMs` after it; without a due date, every
 * `remindWithoutDueEveryMs`. Capped by `maxRemindersAfterDue` after the due date (or in all).
 */
export function reminderSchedule(dueAt: number | null, startedAt: number, timings: FileRequestTimings): number[] {
  const max = timings.maxRemindersAfterDue;
  if (dueAt === null) {
    const every = timings.remindWithoutDueEveryMs;
    return every > 0 ? Array.from({ length: max }, (_, i) => startedAt + every * (i + 1)) : [];
  }
  const before = timings.remindBeforeDueMs
    .map((ahead) => dueAt - ahead)
    .filter((at) => at > startedAt)
    .sort((a, b) => a - b);
  const every = timings.remindAfterDueEveryMs;
  const after = every > 0 ? Array.from({ length: max }, (_, i) => dueAt + every * (i + 1)) : [];
  return [...new Set([...before, ...after])];
}
