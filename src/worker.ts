import path from 'node:path';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createCaseWareActivities, type CaseWareActivityDeps } from '../activities/caseware';
import { createClientOnlineActivities, type ClientOnlinePort } from '../activities/client-online';
import { createFileRequestActivities, type FileRequestPort } from '../activities/file-requests';
import { createMasterActivities } from '../activities/masters';
import { createOffboardingActivities } from '../activities/offboarding';
import { createReconcileActivities, type CaseWareBulkPort, type ClientOnlineBulkPort } from '../activities/reconcile';
import { defaultMaxCachedWorkflows } from './config';
import { bundleWorkflowsApart } from './temporal/workflow-bundle';

export const workflowsPath = path.resolve(__dirname, '..', 'workflows', 'index.ts');

export interface WorkerOptions extends CaseWareActivityDeps {
  clientOnline: ClientOnlinePort;
  /** Send person clients' BSN to Client Online; off unless the firm switches it on. */
  clientOnlineSendBsn: boolean;
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** The portals' bulk reads, for the reconcile. */
  reconcile: { caseware: CaseWareBulkPort; clientOnline: ClientOnlineBulkPort; batchSize?: number };
  /** CaseWare Cloud's file-request calls; without them the file-request workflow's activities are not registered. */
  fileRequests?: FileRequestPort;
  /**
   * Workflows kept in memory between their tasks (WORKER_MAX_CACHED_WORKFLOWS); an evicted one
   * replays its history at its next task. Default: src/config.ts's.
   */
  maxCachedWorkflows?: number;
  /** A prebuilt bundle (tests bundle once per file); otherwise the workflows are bundled at start, in a child process. */
  workflowBundle?: WorkflowBundleWithSourceMap;
  /**
   * Payload encryption (src/temporal/data-converter.ts); the same as the clients'. A prebuilt
   * bundle must have been built with its failureConverterPath.
   */
  dataConverter?: DataConverter;
}

export async function createWorker(options: WorkerOptions): Promise<Worker> {
  const { connection, namespace, taskQueue, workflowBundle, maxCachedWorkflows, dataConverter, clientOnline, clientOnlineSendBsn, reconcile, fileRequests, ...caseWareDeps } = options;
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    dataConverter,
    maxCachedWorkflows: maxCachedWorkflows ?? defaultMaxCachedWorkflows,
    // Bundled in a child process rather than by Worker.create, so that webpack's memory (and its
    // report) stays out of the worker's process.
    workflowBundle: workflowBundle ?? (await bundleWorkflowsApart({ workflowsPath, failureConverterPath: dataConverter?.failureConverterPath })),
    activities: {
      ...createCaseWareActivities(caseWareDeps),
      ...createClientOnlineActivities({ db: caseWareDeps.db, clientOnline, sendBsn: clientOnlineSendBsn, credentialsMailGuard: caseWareDeps.credentialsMailGuard }),
      ...createMasterActivities({ db: caseWareDeps.db }),
      ...createOffboardingActivities({ db: caseWareDeps.db }),
      ...(fileRequests ? createFileRequestActivities({ db: caseWareDeps.db, caseware: fileRequests }) : {}),
      ...createReconcileActivities({
        db: caseWareDeps.db,
        caseware: reconcile.caseware,
        clientOnline: reconcile.clientOnline,
        contactRoleName: caseWareDeps.contactRoleName,
        contactGroupName: caseWareDeps.contactGroupName,
        sendBsn: clientOnlineSendBsn,
        batchSize: reconcile.batchSize,
      }),
    },
  });
}
