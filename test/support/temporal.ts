import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { inject } from 'vitest';
import { ensureTemporalCli } from '../../src/dev/temporal-cli';
import { workflowsPath } from '../../src/worker';
import { quietTemporalRuntime } from './runtime';
import { searchAttributeKeys } from '../../src/search-attributes';
import { freePort } from '../../src/dev/local-infra';

export { freePort };

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's shared dev server (test/support/global-setup.ts) and where namespaces are claimed. */
    sharedTemporal?: { address: string; claimsDir: string };
    /** The workflow bundle, built once for the run. */
    workflowBundlePath?: string;
  }
}

/** How many namespaces the shared dev server has for test stacks to claim, one each. */
export const sharedNamespaceCount = 64;
export const sharedNamespaceName = (index: number) => `test-${index}`;

/**
 * A namespace of its own on the run's shared dev server: no other stack sees its workflows (the
 * workflow ids are the same in every file) and it starts empty. Falls back to a private server
 * when there is no shared one (a run without the global setup) or every namespace is taken. A test
 * that stops, cuts or inspects the server itself calls `startTemporal()` instead.
 */
export async function sharedTemporal(): Promise<TestWorkflowEnvironment> {
  const shared = inject('sharedTemporal');
  if (!shared) return startTemporal();
  for (let index = 0; index < sharedNamespaceCount; index += 1) {
    try {
      // mkdir is atomic: the one caller that creates the directory owns the namespace.
      await mkdir(path.join(shared.claimsDir, sharedNamespaceName(index)));
    } catch {
      continue;
    }
    quietTemporalRuntime();
    return TestWorkflowEnvironment.createFromExistingServer({ address: shared.address, namespace: sharedNamespaceName(index) });
  }
  return startTemporal();
}

/**
 * A real Temporal dev server on a random port, from the project's own CLI install; with `uiPort`,
 * its Web UI on that port too; with `namespaces`, those besides `default`, each with the search
 * attributes.
 */
export async function startTemporal(options: { uiPort?: number; namespaces?: readonly string[] } = {}): Promise<TestWorkflowEnvironment> {
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
        extraArgs: (options.namespaces ?? []).flatMap((namespace) => ['--namespace', namespace]),
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

/** The run's workflow bundle (built once by the global setup), or a fresh one without it. */
export async function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  const bundlePath = inject('workflowBundlePath');
  if (bundlePath) return JSON.parse(await readFile(bundlePath, 'utf8')) as WorkflowBundleWithSourceMap;
  return bundleWorkflowCode({ workflowsPath, logger: quietBundlerLogger });
}

const noop = () => undefined;
export const quietBundlerLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };

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
