import { CliError, exitCodes } from './exit-codes';
import { createLiveView, type LiveView } from './live';
import type { Output } from './output';

/** How long the API may be unreachable while following before the CLI gives up; the work goes on. */
const patienceMs = 30_000;

export interface FollowOptions<T> {
  out: Output;
  intervalMs: number;
  /** One look at the work (a GET of the API). */
  read(): Promise<T>;
  /** Shows what was read: `view.change` for what is new, `view.frame` for the terminal's block. */
  show(value: T, view: LiveView): void;
  finished(value: T): boolean;
  /** Said when following stops early (Ctrl-C, the API gone): the work goes on, and where to find it. */
  goesOn: string;
  /** Erase the progress from a terminal at the end: what follows says it all. */
  eraseAtEnd?: boolean;
}

/**
 * Follows long work by polling until it has finished, drawing its progress (src/cli/live.ts).
 * Following is only watching: Ctrl-C, or an API that stays unreachable, stops the watching, never
 * the work.
 */
export async function follow<T>(options: FollowOptions<T>): Promise<T> {
  const view = createLiveView({ json: options.out.json });
  const onInterrupt = () => {
    view.close([`Stopped following; ${options.goesOn}.`]);
    process.exit(exitCodes.interrupted);
  };
  process.once('SIGINT', onInterrupt);
  let unreachableSince: number | undefined;
  try {
    for (;;) {
      let value: T;
      try {
        value = await options.read();
        unreachableSince = undefined;
      } catch (error) {
        if (!(error instanceof CliError) || error.exitCode !== exitCodes.unavailable) throw error;
        unreachableSince ??= Date.now();
        if (Date.now() - unreachableSince > patienceMs) throw new CliError(exitCodes.unavailable, `${error.message}; ${options.goesOn}`);
        await sleep(options.intervalMs);
        continue;
      }
      options.show(value, view);
      if (options.finished(value)) {
        view.close([], { erase: options.eraseAtEnd });
        return value;
      }
      await sleep(options.intervalMs);
    }
  } catch (error) {
    view.close();
    throw error;
  } finally {
    process.removeListener('SIGINT', onInterrupt);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
