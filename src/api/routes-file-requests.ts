import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { defaultCaseWareContactRole } from '../config';
import type { Db } from '../db';
import { defaultFileRequestTimings, type FileRequestStatus, type FileRequestTimings } from '../domain/file-requests';
import { createFileRequest, getFileRequest, listFileRequests, recipientCandidates, setFileRequestStatus } from '../registry/file-requests';
import { RegistryError } from '../registry/errors';
import type { fileRequestWorkflow } from '../../workflows/file-request';
import { cancelFileRequestSignal, fileRequestStageSearchAttribute } from '../../workflows/file-request-definitions';
import { clientNumberSearchAttribute } from '../../workflows/definitions';
import { callerOf } from './auth';
import { errorBody, errorResponses } from './errors';
import type { ZodApp } from './zod-app';
import {
  fileRequestCreateSchema,
  fileRequestListQuerySchema,
  fileRequestListResponseSchema,
  fileRequestParamsSchema,
  fileRequestResponseSchema,
  recipientCandidatesQuerySchema,
  recipientCandidatesResponseSchema,
} from './file-request-schemas';

export interface FileRequestSettings {
  temporal: Client;
  taskQueue: string;
  /** The role the sync shares with every linked contact (CASEWARE_CONTACT_ROLE). */
  contactRoleName: string;
  /** Reminder rhythm and polling; tests pass short ones. */
  timings?: FileRequestTimings;
}

/** POST /file-requests: records the request and starts the workflow that follows it. */
function registerFileRequestStart(app: ZodApp, db: Db, fileRequests: FileRequestSettings | undefined): void {
  app.post(
    '/file-requests',
    {
      schema: {
        tags: ['file requests'],
        summary: 'Ask a client for files: a request in CaseWare Cloud, followed until answered',
        body: fileRequestCreateSchema,
        response: { 202: fileRequestResponseSchema, ...errorResponses(400, 401, 404, 422, 503) },
      },
    },
    async (request, reply) => {
      if (!fileRequests) {
        return reply.code(503).send(errorBody('unavailable', 'this API runs without a Temporal connection, so it cannot start a file request'));
      }
      // The token's name (`api` for the built-in one), as offboardings record it.
      const record = await createFileRequest(db, { ...request.body, requestedBy: callerOf(request).name }, fileRequests.contactRoleName);
      try {
        await fileRequests.temporal.workflow.start<typeof fileRequestWorkflow>('fileRequestWorkflow', {
          workflowId: record.workflowId,
          taskQueue: fileRequests.taskQueue,
          args: [{ fileRequestId: record.id, dueAt: record.dueAt === null ? null : Date.parse(record.dueAt), timings: fileRequests.timings ?? defaultFileRequestTimings }],
          typedSearchAttributes: new TypedSearchAttributes([
            { key: fileRequestStageSearchAttribute, value: 'created' },
            { key: clientNumberSearchAttribute, value: record.clientNumber },
          ]),
          staticSummary: `file request ${record.id} for client ${record.clientNumber}, ${record.recipients.length} ${record.recipients.length === 1 ? 'recipient' : 'recipients'}`,
        });
      } catch (error) {
        request.log.error({ err: error }, 'Temporal did not take the file request');
        await setFileRequestStatus(db, record.id, 'failed', { failure: 'the workflow service (Temporal) could not be reached; nothing was sent' });
        return reply.code(503).send(errorBody('unavailable', `file request ${record.id} could not be started: the workflow service (Temporal) is unreachable; nothing was sent`));
      }
      return reply.code(202).send(record);
    },
  );
}

function registerFileRequestReads(app: ZodApp, db: Db, contactRoleName: string): void {
  app.get(
    '/file-requests/recipients',
    {
      schema: {
        tags: ['file requests'],
        summary: "A client's contacts as recipients of a new file request: who may answer now, once given the answering role, or not, and why",
        querystring: recipientCandidatesQuerySchema,
        response: { 200: recipientCandidatesResponseSchema, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => recipientCandidates(db, request.query.clientNumber, contactRoleName),
  );

  app.get(
    '/file-requests',
    {
      schema: {
        tags: ['file requests'],
        summary: 'File requests, newest first',
        querystring: fileRequestListQuerySchema,
        response: { 200: fileRequestListResponseSchema, ...errorResponses(400, 401) },
      },
    },
    async (request) => ({
      fileRequests: await listFileRequests(db, { ...request.query, status: request.query.status as FileRequestStatus | undefined }),
    }),
  );

  app.get(
    '/file-requests/:id',
    {
      schema: {
        tags: ['file requests'],
        summary: 'A file request: its status, reminders and recipients',
        params: fileRequestParamsSchema,
        response: { 200: fileRequestResponseSchema, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => getFileRequest(db, request.params.id),
  );
}

/** POST /file-requests/:id/cancel: passed to the workflow as a signal. */
function registerFileRequestCancel(app: ZodApp, db: Db, fileRequests: FileRequestSettings | undefined): void {
  app.post(
    '/file-requests/:id/cancel',
    {
      schema: {
        tags: ['file requests'],
        summary: 'Cancel an open file request, in CaseWare Cloud too; answers 202 at once, the request shows cancelled shortly after',
        params: fileRequestParamsSchema,
        response: { 202: fileRequestResponseSchema, ...errorResponses(400, 401, 404, 409, 503) },
      },
    },
    async (request, reply) => {
      const record = await getFileRequest(db, request.params.id);
      if (record.closedAt !== null) throw new RegistryError('conflict', `file request ${record.id} is already closed (${record.status})`);
      if (!fileRequests) return reply.code(503).send(errorBody('unavailable', 'this API runs without a Temporal connection'));
      try {
        await fileRequests.temporal.workflow.getHandle(record.workflowId).signal(cancelFileRequestSignal, { cancelledBy: callerOf(request).name });
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) throw new RegistryError('conflict', `file request ${record.id} is no longer followed`);
        request.log.error({ err: error }, 'Temporal did not take the cancel');
        return reply.code(503).send(errorBody('unavailable', `the workflow service (Temporal) did not take the cancel of file request ${record.id}; try again`));
      }
      return reply.code(202).send(await getFileRequest(db, record.id));
    },
  );
}

export const fileRequestRoutes: FastifyPluginCallbackZod<{ db: Db; fileRequests?: FileRequestSettings }> = (app, { db, fileRequests }, done) => {
  registerFileRequestStart(app, db, fileRequests);
  registerFileRequestReads(app, db, fileRequests?.contactRoleName ?? defaultCaseWareContactRole);
  registerFileRequestCancel(app, db, fileRequests);
  done();
};
