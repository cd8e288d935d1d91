import { Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { bundleWorkflows } from '../support/temporal';

// Histories recorded from earlier versions of the workflows (RECORD_HISTORIES=1 in
// client-sync.test.ts, test/sync/offboarding.test.ts, test/sync/reconcile.test.ts and test/sync/file-requests.test.ts). If a change to workflow code would break running workflows, replay fails.
const dir = path.join(__dirname, '..', 'fixtures', 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

test('recorded histories exist', () => {
  expect(files.filter((f) => f.startsWith('client-sync-')).length).toBeGreaterThanOrEqual(10);
  expect(files.filter((f) => f.startsWith('offboarding-')).length).toBeGreaterThanOrEqual(3);
  expect(files.filter((f) => f.startsWith('reconcile-')).length).toBeGreaterThanOrEqual(2);
  expect(files.filter((f) => f.startsWith('file-request-')).length).toBeGreaterThanOrEqual(3);
});

test('every recorded history replays against the current workflow code', async () => {
  const workflowBundle = await bundleWorkflows();
  for (const file of files) {
    const history: unknown = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
    await expect(Worker.runReplayHistory({ workflowBundle }, history, file.replace('.json', '')), file).resolves.toBeUndefined();
  }
}, 120_000);
