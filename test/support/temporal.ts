import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { ensureTemporalCli } from '../../src/dev/temporal-cli';
import { workflowsPath } from '../../src/worker';
import { quietTemporalRuntime } from './runtime';
import { searchAttributeKeys } from '../../src/search-attributes';
import { freePort } from '../../src/dev/local-infra';

export { freePort };

/**
 * A real Temporal dev server on a random port, from the project's own CLI install; with `uiPort`,
 * its Web UI on that port too.
 */
export async function startTemporal(options: { uiPort?: number } = {}): Promise<TestWorkflowEnvironment> {
  quietTemporalRuntime();
  const cli = ensureTemporalCli();
  const start = () =>
    TestWorkflowEnvironment.createLocal({
      server: {
        ...(cli ? { executable: { type: 'existing-path', path: cli } } : {}),
        ip: '127.0.0.1',
        ...(options.uiPort === undefined ? {} : { ui: true, uiPort: options.uiPort }),
        searchAttributes: searchAttributeKeys,
        log: { format: 'pretty', level: 'error' },
      },
    });
  // The SDK gives a dev server 5 s to answer; with every test file starting one at once on two
  // cores, that is sometimes too little. A second try is the test setup's, not the product's.
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await start();
    } catch (error) {
      if (attempt >= 3 || !/did not start within/.test(String(error))) throw error;
    }
  }
}

/** Bundle once per test file: bundling is the slow part of starting a worker. */
export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, logger: quietBundlerLogger });
}

const noop = () => undefined;
const quietBundlerLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  { timeoutMs = 20_000, intervalMs = 100 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}
