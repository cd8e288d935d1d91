import { fork } from 'node:child_process';
import path from 'node:path';
import type { WorkflowBundle } from '@temporalio/worker';

const bundlerEntry = path.join(__dirname, 'bundle-workflows.cjs');

type BundlerMessage = { code: string } | { error: string };

/**
 * The workflows bundled by webpack in a child process, which exits when it is done. Bundled in the
 * worker's own process, webpack's working memory stays in it: about 100 MiB more resident memory
 * for the life of the worker, for a bundle of under 2 MB (bench/results/2026-12-04-memory.md).
 */
export function bundleWorkflowsApart(options: { workflowsPath: string; failureConverterPath?: string }): Promise<WorkflowBundle> {
  return new Promise((resolve, reject) => {
    // No execArgv of ours (tsx, --inspect): the bundler is plain JavaScript and needs none.
    const child = fork(bundlerEntry, [options.workflowsPath, options.failureConverterPath ?? ''], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let answer: BundlerMessage | undefined;
    child.once('message', (message: BundlerMessage) => {
      answer = message;
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (answer && 'code' in answer) resolve({ code: answer.code });
      else if (answer) reject(new Error(`bundling the workflows failed: ${answer.error}`));
      else reject(new Error(`the workflow bundler exited (${signal ?? code}) without a bundle`));
    });
  });
}
