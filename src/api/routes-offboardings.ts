import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import type { Db } from '../db';
import { planPortals, type OffboardingPlan, type OffboardingRequest } from '../domain/offboarding';
import {
  createOffboarding,
  failUnstartedOffboarding,
  getOffboarding,
  listOffboardings,
  offboardingApproval,
  offboardingsUnderWay,
  planOffboarding,
  type OffboardingRecord,
} from '../registry/offboardings';
import { RegistryError } from '../registry/errors';
import type { offboardingWorkflow } from '../../workflows/offboarding';
import {
  approveOffboardingUpdate,
  cancelOffboardingUpdate,
  offboardingClientsSearchAttribute,
  offboardingPortalsSearchAttribute,
  offboardingStageSearchAttribute,
} from '../../workflows/offboarding-definitions';
import { callerOf, type ApiCaller } from './auth';
import type { ZodApp } from './zod-app';
import { errorBody, errorResponses, ForbiddenError } from './errors';
import {
  dryRunResponseSchema,
  offboardingListQuerySchema,
  offboardingListResponseSchema,
  offboardingParamsSchema,
  offboardingRequestSchema,
  offboardingResponseSchema,
  startedResponseSchema,
  type OffboardingRequestBody,
} from './offboarding-schemas';

export interface OffboardingSettings {
  temporal: Client;
  taskQueue: string;
  /** Plans that end more accesses than this (both portals together) wait for approval. */
  approvalThreshold: number;
  /** The rolling budget's window: the same token's recent offboardings without approval count too; 0: off. */
  approvalWindowMs?: number;
  /** How long one wait for the portals lasts in the workflow before it asks again. */
  portalWaitMs?: number;
}

/**
 * Four eyes (issue 12): a held offboarding is approved by another token than the one that asked for
 * it. Tokens are compared by name, so a token made anew under the same name is still the same one
 * asking. The built-in token (API_TOKEN, named "api") is no exception: whoever holds it asks as
 * "api" and may not approve as "api" too. A second person approves with a token of his own
 * (`portal-sync tokens create --name <name> --role operator`; docs/api.md, "Tokens and roles").
 */
function fourEyesRefusal(record: OffboardingRecord, approver: ApiCaller): string | undefined {
  if (record.requestedBy !== approver.name) return undefined;
  const asker = approver.builtIn ? `the built-in token "${approver.name}" (API_TOKEN)` : `token "${approver.name}"`;
  return (
    `offboarding ${record.id} was asked for by ${asker}; another token with the operator role must approve it (four eyes). ` +
    'A second person approves it with a token of their own; make one with `portal-sync tokens create --name <name> --role operator`'
  );
}

/** Whether a workflow with this id exists; false also when Temporal cannot be asked. */
async function workflowExists(temporal: Client, workflowId: string): Promise<boolean> {
  try {
    await temporal.workflow.getHandle(workflowId).describe();
    return true;
  } catch {
    return false;
  }
}

function requestOf(body: OffboardingRequestBody): OffboardingRequest {
  switch (body.kind) {
    case 'revoke-contact-access':
      return { kind: body.kind, contactId: body.contactId, ...(body.portals ? { portals: body.portals } : {}) };
    case 'person-leaves':
      return { kind: body.kind, clientNumber: body.clientNumber, ...(body.companies ? { companies: body.companies } : {}) };
    case 'person-deceased':
    case 'client-leaves':
      return { kind: body.kind, clientNumber: body.clientNumber };
  }
}

/**
 * A dry run's answer: the plan, whether it would wait for approval if the caller carried it out now
 * (only an API that can carry offboardings out has a threshold), and the offboardings under way
 * that would refuse it.
 */
async function dryRunAnswer(db: Db, plan: OffboardingPlan, requestedBy: string, offboarding: OffboardingSettings | undefined) {
  const approval = offboarding
    ? await offboardingApproval(db, { requestedBy, approvalThreshold: offboarding.approvalThreshold, approvalWindowMs: offboarding.approvalWindowMs }, plan)
    : {};
  return { dryRun: true as const, plan, ...approval, alreadyUnderWay: await offboardingsUnderWay(db, plan) };
}

/** POST /offboardings: plans a request, and with "execute" records it and starts its workflow. */
function registerOffboardingRequest(app: ZodApp, db: Db, offboarding: OffboardingSettings | undefined): void {
  app.post(
    '/offboardings',
    {
      schema: {
        tags: ['offboarding'],
        summary: 'Plan an offboarding (dry run), or carry it out with "execute": true',
        body: offboardingRequestSchema,
        response: {
          200: dryRunResponseSchema,
          202: startedResponseSchema,
          ...errorResponses(400, 401, 404, 409, 422, 503),
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const offboardingRequest = requestOf(body);
      // Planned first in every case, so a request that does not fit the registry is refused as such.
      const plan = await planOffboarding(db, offboardingRequest);
      if (!body.execute) return reply.code(200).send(await dryRunAnswer(db, plan, callerOf(request).name, offboarding));
      if (!offboarding) {
        return reply.code(503).send(errorBody('unavailable', 'this API runs without a Temporal connection, so it cannot carry out an offboarding'));
      }
      const record = await createOffboarding(db, {
        request: offboardingRequest,
        reason: body.reason,
        requestedBy: callerOf(request).name,
        approvalThreshold: offboarding.approvalThreshold,
        approvalWindowMs: offboarding.approvalWindowMs,
      });
      try {
        await offboarding.temporal.workflow.start<typeof offboardingWorkflow>('offboardingWorkflow', {
          workflowId: record.workflowId,
          taskQueue: offboarding.taskQueue,
          args: [{ offboardingId: record.id, approvalRequired: record.approvalRequired, portalWaitMs: offboarding.portalWaitMs }],
          typedSearchAttributes: new TypedSearchAttributes([
            { key: offboardingStageSearchAttribute, value: record.status },
            { key: offboardingClientsSearchAttribute, value: record.plan.clientNumbers },
            { key: offboardingPortalsSearchAttribute, value: planPortals(record.plan) },
          ]),
          staticSummary: `offboarding ${record.id}: ${record.kind}, ${record.plan.steps.length} ${record.plan.steps.length === 1 ? 'step' : 'steps'}`,
        });
      } catch (error) {
        // The answer may have been lost although Temporal started it: its workflow id tells.
        const started = await workflowExists(offboarding.temporal, record.workflowId);
        if (!started) {
          request.log.error({ err: error }, 'Temporal did not take the offboarding');
          // Its workflow, should it start after all, finds the record failed and changes nothing.
          const failed = await failUnstartedOffboarding(db, record.id, 'the workflow service (Temporal) could not be reached; nothing was changed');
          if (failed) {
            return reply.code(503).send(errorBody('unavailable', `offboarding ${record.id} could not be started: the workflow service (Temporal) is unreachable; nothing was changed`));
          }
        }
        request.log.warn({ err: error }, `the answer to starting offboarding ${record.id} was lost, but its workflow runs`);
      }
      return reply.code(202).send({ id: record.id, workflowId: record.workflowId, status: record.status, approvalReason: record.approvalReason, plan: record.plan });
    },
  );
}

function registerOffboardingReads(app: ZodApp, db: Db): void {
  app.get(
    '/offboardings',
    {
      schema: {
        tags: ['offboarding'],
        summary: 'Offboardings, newest first',
        querystring: offboardingListQuerySchema,
        response: { 200: offboardingListResponseSchema, ...errorResponses(400, 401) },
      },
    },
    async (request) => ({ offboardings: await listOffboardings(db, request.query) }),
  );

  app.get(
    '/offboardings/:id',
    {
      schema: {
        tags: ['offboarding'],
        summary: 'An offboarding: its status, plan and every step with its own status and times',
        params: offboardingParamsSchema,
        response: { 200: offboardingResponseSchema, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => getOffboarding(db, request.params.id),
  );
}

/** Approve and cancel: decisions the API passes to the offboarding's workflow as updates. */
function registerOffboardingDecisions(app: ZodApp, db: Db, offboarding: OffboardingSettings | undefined): void {
  const decide = (
    path: string,
    summary: string,
    send: (settings: OffboardingSettings, record: OffboardingRecord, caller: ApiCaller) => Promise<unknown>,
    refusal: (record: OffboardingRecord, caller: ApiCaller) => string | undefined = () => undefined,
  ) =>
    app.post(
      path,
      {
        schema: {
          tags: ['offboarding'],
          summary,
          params: offboardingParamsSchema,
          response: { 200: offboardingResponseSchema, ...errorResponses(400, 401, 403, 404, 409, 503) },
        },
      },
      async (request, reply) => {
        const record = await getOffboarding(db, request.params.id);
        if (record.finishedAt !== null) {
          throw new RegistryError('conflict', `offboarding ${record.id} has already finished (${record.status})`);
        }
        const refused = refusal(record, callerOf(request));
        if (refused !== undefined) throw new ForbiddenError(refused);
        if (!offboarding) return reply.code(503).send(errorBody('unavailable', 'this API runs without a Temporal connection'));
        try {
          await send(offboarding, record, callerOf(request));
        } catch (error) {
          // The workflow's validator refused: the offboarding is not in a state that allows it.
          if (error instanceof WorkflowUpdateFailedError) throw new RegistryError('conflict', error.cause?.message ?? error.message);
          if (error instanceof WorkflowNotFoundError) throw new RegistryError('conflict', `offboarding ${record.id} has already finished`);
          request.log.error({ err: error }, 'Temporal did not take the decision');
          return reply.code(503).send(errorBody('unavailable', `the workflow service (Temporal) did not take the decision for offboarding ${record.id}; try again`));
        }
        return getOffboarding(db, record.id);
      },
    );

  decide(
    '/offboardings/:id/approve',
    'Approve an offboarding that waits for approval (its plan removes many logins or contacts); by another token than the one that asked, the built-in token included (four eyes)',
    (settings, record, caller) =>
      settings.temporal.workflow.getHandle(record.workflowId).executeUpdate(approveOffboardingUpdate, { args: [{ approvedBy: caller.name }] }),
    fourEyesRefusal,
  );
  decide('/offboardings/:id/cancel', 'Cancel an offboarding: it stops before its next step; steps done stay done', (settings, record, caller) =>
    settings.temporal.workflow.getHandle(record.workflowId).executeUpdate(cancelOffboardingUpdate, { args: [{ cancelledBy: caller.name }] }),
  );
}

export const offboardingRoutes: FastifyPluginCallbackZod<{ db: Db; offboarding?: OffboardingSettings }> = (app, { db, offboarding }, done) => {
  registerOffboardingRequest(app, db, offboarding);
  registerOffboardingReads(app, db);
  registerOffboardingDecisions(app, db, offboarding);
  done();
};
