export { clientSyncWorkflow } from './client-sync';
export { masterPropagationWorkflow } from './master-propagation';
export { offboardingWorkflow } from './offboarding';
export { reconcileWorkflow } from './reconcile';
export { fileRequestWorkflow } from './file-request';
