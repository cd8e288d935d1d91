import { startLocalStack } from '../../local-stack';
import { CliError, type ExitCode } from '../exit-codes';
import { jsonEvent } from '../output';
import { loadCliConfig, processLogger, runUntilStopped, startFailure, ShutdownSteps, type ProcessOptions } from '../process';

/** `portal-sync start` (and `npm start`): the local stack of src/local-stack.ts, until a signal stops it. */
export async function runLocalStack(options: ProcessOptions): Promise<ExitCode> {
  const config = loadCliConfig();
  const log = processLogger(config, options.json === true);
  const stops = new ShutdownSteps(log);
  try {
    const stack = await startLocalStack(config, log);
    stops.push(() => stack.stop());
    if (options.json) jsonEvent({ event: 'ready', command: 'start', ...stack.facts });
    else console.log(stack.whereToLook);
  } catch (error) {
    if (!(error instanceof CliError)) log.error({ err: error }, 'start failed');
    throw startFailure('portal-sync', error);
  }
  return runUntilStopped({ log, stops, json: options.json === true });
}
