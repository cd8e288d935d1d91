import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { observePortalCalls } from '../portals/call-observers';

// The Temporal SDK's process-wide runtime: where its logs go and whether it serves its metrics.
// Installed once, before the first worker or native connection of the process is made.

export interface TemporalRuntimeOptions {
  /** The service's logger: the SDK's log lines become JSON lines with the same redaction. */
  log: Logger;
  /** `host:port` where the SDK serves Prometheus metrics at /metrics; unset: no metrics. */
  metricsBindAddress?: string;
}

const pinoLevel: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  // The SDK's own info lines (worker state changes, no Nexus services) are operational detail.
  INFO: 'debug',
  WARN: 'warn',
  ERROR: 'error',
};

/** The SDK's logger interface over pino; an `error` in the metadata is logged as pino's `err`. */
function temporalLogger(log: Logger): TemporalLogger {
  const write = (level: LogLevel, message: string, meta?: LogMetadata) => {
    const { error, ...rest } = meta ?? {};
    log[pinoLevel[level]]({ ...rest, ...(error === undefined ? {} : { err: error }) }, message);
  };
  return {
    log: write,
    trace: (message, meta) => write('TRACE', message, meta),
    debug: (message, meta) => write('DEBUG', message, meta),
    info: (message, meta) => write('INFO', message, meta),
    warn: (message, meta) => write('WARN', message, meta),
    error: (message, meta) => write('ERROR', message, meta),
  };
}

/**
 * Installs the runtime: SDK logs through the service's logger and, with a bind address, the SDK's
 * Prometheus endpoint (`temporal_*`: task slots, poll and schedule-to-start latencies, activity and
 * workflow task failures, sticky cache), which also counts this process's portal requests as
 * `portal_sync_portal_calls_total`, the same series the API's /metrics has: in a deployment the
 * worker is where they are made. Throws when the process has made its runtime already (a native
 * connection or a worker made first).
 */
export function installTemporalRuntime(options: TemporalRuntimeOptions): Runtime {
  const runtime = Runtime.install({
    logger: temporalLogger(options.log.child({ component: 'temporal' })),
    ...(options.metricsBindAddress === undefined
      ? {}
      : { telemetryOptions: { metrics: { prometheus: { bindAddress: options.metricsBindAddress } } } }),
  });
  if (options.metricsBindAddress !== undefined) {
    const calls = runtime.metricMeter.createCounter(
      'portal_sync_portal_calls_total',
      undefined,
      'HTTP requests this process sent to a portal, by route (ids replaced by :id) and status (HTTP status, timeout or network)',
    );
    observePortalCalls((call) => calls.add(1, { portal: call.portal, method: call.method, route: call.route, status: call.status }));
  }
  return runtime;
}

/** The runtime options the configuration asks for (WORKER_METRICS_PORT, WORKER_METRICS_HOST). */
export function temporalRuntimeOptions(config: Pick<Config, 'WORKER_METRICS_PORT' | 'WORKER_METRICS_HOST'>, log: Logger): TemporalRuntimeOptions {
  return {
    log,
    ...(config.WORKER_METRICS_PORT === undefined ? {} : { metricsBindAddress: `${config.WORKER_METRICS_HOST}:${config.WORKER_METRICS_PORT}` }),
  };
}
