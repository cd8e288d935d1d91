import { DefaultLogger, Runtime } from '@temporalio/worker';

let installed = false;

/**
 * Workers log their state changes at INFO and every failed activity attempt at WARN; the fault and
 * storm tests fail thousands of attempts on purpose, so tests keep errors only. Once per process.
 */
export function quietTemporalRuntime(): void {
  if (installed) return;
  installed = true;
  Runtime.install({ logger: new DefaultLogger('ERROR') });
}
