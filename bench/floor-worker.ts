import path from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { defaultMaxCachedWorkflows } from '../src/config';
import { bundleWorkflowsApart } from '../src/temporal/workflow-bundle';
import type { FloorActivities } from './floor-workflow';

/**
 * The `floor` section's worker (bench/floor.ts), in a process of its own so that its CPU can be
 * read from /proc: bench/floor-workflow.ts's workflows, and activities that do nothing. Set up as
 * src/worker.ts sets up the service's (the same cache size, the bundle made in a child process).
 * Arguments: the Temporal address, the task queue. Prints `{ pid }` once it polls.
 */

const activities: FloorActivities = {
  syncClientToCaseWare: () => Promise.resolve(),
  syncClientToClientOnline: () => Promise.resolve(),
};

async function main(): Promise<void> {
  const [address, taskQueue] = process.argv.slice(2);
  if (!address || !taskQueue) throw new Error('usage: floor-worker.ts <temporal address> <task queue>');
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue,
    maxCachedWorkflows: defaultMaxCachedWorkflows,
    workflowBundle: await bundleWorkflowsApart({ workflowsPath: path.join(__dirname, 'floor-workflow.ts') }),
    activities,
  });
  process.once('SIGTERM', () => worker.shutdown());
  process.once('SIGINT', () => worker.shutdown());
  const running = worker.run();
  console.log(JSON.stringify({ pid: process.pid }));
  await running;
  await connection.close();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
