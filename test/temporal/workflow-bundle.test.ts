import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { workflowsPath } from '../../src/worker';
import { bundleWorkflowsApart } from '../../src/temporal/workflow-bundle';

describe('the workflow bundle built in a child process', () => {
  it('holds every workflow, built with the failure converter given', async () => {
    const failureConverterPath = path.resolve(__dirname, '..', '..', 'src', 'temporal', 'failure-converter.ts');
    const bundle = await bundleWorkflowsApart({ workflowsPath, failureConverterPath });
    for (const workflow of ['clientSyncWorkflow', 'masterPropagationWorkflow', 'offboardingWorkflow', 'reconcileWorkflow', 'fileRequestWorkflow']) {
      expect(bundle.code).toContain(workflow);
    }
    expect(bundle.code).toContain('failure-converter');
  }, 60_000);

  it('fails with what the bundler said when the workflows do not bundle', async () => {
    await expect(bundleWorkflowsApart({ workflowsPath: path.join(__dirname, 'no-such-workflows.ts') })).rejects.toThrow(/bundling the workflows failed: .*no-such-workflows/s);
  }, 60_000);
});
