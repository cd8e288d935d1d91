import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { workflowsPath } from '../../src/worker';
import { quietBundlerLogger, sharedNamespaceCount, sharedNamespaceName, startTemporal } from './temporal';

/**
 * Once per `vitest run`: one Temporal dev server with a namespace for each test stack to claim, and
 * the workflow bundle built once. Starting a server and bundling in every file cost a few seconds
 * of CPU each, and kept two files from running side by side on two cores.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runDir = await mkdtemp(path.join(tmpdir(), 'portal-sync-tests-'));
  const namespaces = Array.from({ length: sharedNamespaceCount }, (_, index) => sharedNamespaceName(index));
  const [temporal, bundle] = await Promise.all([startTemporal({ namespaces }), bundleWorkflowCode({ workflowsPath, logger: quietBundlerLogger })]);
  const bundlePath = path.join(runDir, 'workflow-bundle.json');
  await writeFile(bundlePath, JSON.stringify(bundle));
  project.provide('sharedTemporal', { address: temporal.address, claimsDir: runDir });
  project.provide('workflowBundlePath', bundlePath);
  return async () => {
    await temporal.teardown();
    await rm(runDir, { recursive: true, force: true });
  };
}
