import { cancelFileRequestInPortal } from './file-requests/cancel';
import type { FileRequestActivityDeps } from './file-requests/context';
import { createFileRequestInPortal } from './file-requests/create';
import { followFileRequest } from './file-requests/follow';
import { sendFileRequestReminder } from './file-requests/remind';
import { markFileRequestOverdue } from './file-requests/request-status';

export type { FileRequestActivityDeps, FileRequestOutcome, FileRequestPort, FileRequestState } from './file-requests/context';

/** The file-request activities; the steps live in activities/file-requests/, this only wires them. */
export function createFileRequestActivities(deps: FileRequestActivityDeps) {
  const context = deps;
  return {
    createFileRequestInPortal: (input: Parameters<typeof createFileRequestInPortal>[1]) => createFileRequestInPortal(context, input),
    followFileRequest: (input: Parameters<typeof followFileRequest>[1]) => followFileRequest(context, input),
    sendFileRequestReminder: (input: Parameters<typeof sendFileRequestReminder>[1]) => sendFileRequestReminder(context, input),
    markFileRequestOverdue: (input: Parameters<typeof markFileRequestOverdue>[1]) => markFileRequestOverdue(context, input),
    cancelFileRequestInPortal: (input: Parameters<typeof cancelFileRequestInPortal>[1]) => cancelFileRequestInPortal(context, input),
  };
}

export type FileRequestActivities = ReturnType<typeof createFileRequestActivities>;
