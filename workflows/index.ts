export { clientSyncWorkflow } from './client-sync';
