import { defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';

/** Shared by the file-request workflow and its callers (API, CLI). */

export type FileRequestStage = 'created' | 'waiting' | 'reminded' | 'overdue' | 'answered' | 'cancelled' | 'no-recipients' | 'failed';

export interface FileRequestProgress {
  stage: FileRequestStage;
  remindersSent: number;
  recipients: number;
}

export function fileRequestWorkflowId(id: number): string {
  return `file-request-${id}`;
}

/** The file request the activity was asked about is not in the registry. */
export const fileRequestMissingFailure = 'FileRequestMissing';

export const cancelFileRequestSignal = defineSignal<[{ cancelledBy: string }]>('cancelFileRequest');
export const fileRequestProgressQuery = defineQuery<FileRequestProgress>('progress');

/** Readable in the Temporal Web UI: where a request is. A stage, never personal data. */
export const fileRequestStageSearchAttribute = defineSearchAttributeKey('FileRequestStage', 'KEYWORD');
