import { DefaultLogger, Runtime } from '@temporalio/worker';

let installed = false;

/** Workers log their state changes at INFO; tests want warnings only. Once per process. */
export function quietTemporalRuntime(): void {
  if (installed) return;
  installed = true;
  Runtime.install({ logger: new DefaultLogger('WARN') });
}
