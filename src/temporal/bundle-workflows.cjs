'use strict';
// Child process of src/temporal/workflow-bundle.ts: bundles the workflows with webpack and sends
// the code to its parent. Plain CommonJS, so that it starts without tsx: webpack reads the
// TypeScript itself. Arguments: the workflows' path, then the failure converter's path or ''.
const { bundleWorkflowCode, DefaultLogger } = require('@temporalio/worker');

const [workflowsPath, failureConverterPath] = process.argv.slice(2);

bundleWorkflowCode({ workflowsPath, failureConverterPath: failureConverterPath || undefined, logger: new DefaultLogger('WARN') }).then(
  (bundle) => process.send({ code: bundle.code }, () => process.exit(0)),
  (error) => process.send({ error: error instanceof Error ? error.stack ?? error.message : String(error) }, () => process.exit(1)),
);
