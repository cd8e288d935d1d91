import { asyncLocalStorage } from '@temporalio/activity';

/** What a long activity sees of its own liveness and of the attempt before it. */
export interface ActivityProgress<P> {
  /** What the previous attempt had finished, as it last reported it; undefined on a first attempt. */
  readonly resumeFrom: P | undefined;
  /**
   * Aborted when Temporal cancels this attempt: it timed out (a retry may already run), its
   * workflow closed, or the workflow asked to cancel. Hand it to every call that can take long.
   */
  readonly signal: AbortSignal | undefined;
  /** Records progress; it travels with the next heartbeat, so a retry resumes from it. */
  report(progress: P): void;
  /**
   * Progress reaches a retry: the attempt heartbeats. A local first attempt, or a call outside an
   * activity, has nothing to resume from and nothing to hand on.
   */
  readonly resumable: boolean;
}

/** How often a running activity tells Temporal it is alive (at most a third of its heartbeat timeout). */
const heartbeatIntervalMs = 2_000;

/**
 * Runs `work` with heartbeats sent on a timer while it runs, so that a worker that dies is noticed
 * within the heartbeat timeout rather than the start-to-close timeout, and an attempt Temporal has
 * given up on learns so and stops (its `signal` aborts). A local activity has no heartbeats (its
 * liveness is its workflow task's; a failed local attempt is followed by a regular activity, which
 * starts from the ledger): it runs `work` without them, and Temporal's cancellation, or the local
 * activity's timeout, still aborts `signal`. Outside an activity (a test calling the function
 * directly), or without a heartbeat timeout, it just runs `work`.
 */
export async function withHeartbeats<P, R>(work: (progress: ActivityProgress<P>) => Promise<R>): Promise<R> {
  const context = asyncLocalStorage.getStore();
  if (!context) return work({ resumeFrom: undefined, signal: undefined, report: () => undefined, resumable: false });
  const timeoutMs = context.info.isLocal ? undefined : context.info.heartbeatTimeoutMs;
  const resumeFrom = timeoutMs ? (context.info.heartbeatDetails as P | undefined) : undefined;
  let latest = resumeFrom;
  const beat = () => context.heartbeat(latest);
  let timer: ReturnType<typeof setInterval> | undefined;
  if (timeoutMs) {
    beat();
    timer = setInterval(beat, Math.min(heartbeatIntervalMs, Math.floor(timeoutMs / 3)));
  }
  try {
    return await work({
      resumeFrom,
      resumable: timeoutMs !== undefined,
      signal: context.cancellationSignal,
      report: (progress) => {
        if (!timeoutMs) return;
        latest = progress;
        // At once, not with the next beat: an attempt that fails right after would lose it. The
        // SDK throttles what it sends, keeping the latest details.
        beat();
      },
    });
  } catch (error) {
    // Whatever the aborted call threw, the attempt ends as cancelled, which is what Temporal asked.
    if (context.cancellationSignal.aborted) await context.cancelled;
    throw error;
  } finally {
    clearInterval(timer);
  }
}
