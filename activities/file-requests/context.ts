import type { Db } from '../../src/db';
import type { CwFileRequest, CwFileRequestCreateBody } from '../../src/portals/caseware/file-request-api';
import { toActivityFailure } from '../failures';

/** The CaseWare Cloud calls a file request needs; `CaseWareClient` provides them over HTTP. */
export interface FileRequestPort {
  createFileRequest(body: CwFileRequestCreateBody): Promise<CwFileRequest>;
  getFileRequest(guid: string): Promise<CwFileRequest | undefined>;
  setFileRequestRecipients(guid: string, recipients: string[]): Promise<CwFileRequest>;
  cancelFileRequest(guid: string): Promise<CwFileRequest>;
  remindFileRequest(guid: string): Promise<void>;
  findRoleByName(name: string): Promise<{ CWGuid: string } | undefined>;
  shareEntity(entityGuid: string, userIds: string[], roleId: string): Promise<void>;
  unshareEntity(entityGuid: string, userIds: string[], roleId: string): Promise<void>;
}

export interface FileRequestActivityDeps {
  db: Db;
  caseware: FileRequestPort;
}

/** Where a request stands after an activity: what the workflow decides on. Ids and counts only. */
export type FileRequestOutcome = 'open' | 'answered' | 'cancelled' | 'no-recipients' | 'failed';

export interface FileRequestState {
  outcome: FileRequestOutcome;
  /** Recipients who can still answer. */
  recipients: number;
  /** Recipients this call removed because they lost access. */
  removed: number;
}

/** A recipient who can still answer, with the CaseWare user; `grantToShare`: given the answering role, not yet shared in CaseWare. */
export interface RecipientToKeep {
  contactId: number;
  userId: string;
  grantToShare: boolean;
}

/** A recipient who lost access since the request was made, and why. */
export interface LostRecipient {
  contactId: number;
  userId: string | null;
  reason: string;
  granted: boolean;
}

/** What every file-request step depends on. */
export type FileRequestContext = FileRequestActivityDeps;

/** Runs an activity's work, its failure classified for Temporal (retryable or not). */
export async function classified<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toActivityFailure(error);
  }
}
