import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Logger } from 'pino';
import { installTemporalRuntime } from '../../src/temporal/runtime';

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

/**
 * For a test that reads what the SDK logs: the service's own runtime (src/temporal/runtime.ts), its
 * lines through `log`. Call it before anything else of Temporal in the file's process.
 */
export function loggingTemporalRuntime(log: Logger): void {
  if (installed) throw new Error('the Temporal runtime of this process is installed already');
  installed = true;
  installTemporalRuntime({ log });
}
