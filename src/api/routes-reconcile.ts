import { randomUUID } from 'node:crypto';
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import type { Db } from '../db';
import { createReconcileRun, getReconcileRun, listReconcileRuns, markReconcileRunFailed } from '../registry/reconcile-runs';
import { reconcileScheduleId, reconcileWorkflowId } from '../../workflows/definitions';
import type { reconcileWorkflow } from '../../workflows/reconcile';
import { lastAuditEvent } from '../registry/audit-events';
import { callerOf } from './auth';
import { errorBody, errorResponses } from './errors';
import type { ZodApp } from './zod-app';
import {
  reconcileRequestSchema,
  reconcileRunDetailsSchema,
  reconcileRunListQuerySchema,
  reconcileRunParamsSchema,
  reconcileRunSchema,
  reconcileSchedulePauseSchema,
  reconcileScheduleSchema,
} from './reconcile-schemas';

export interface ReconcileSettings {
  temporal: Client;
  taskQueue: string;
  /** How long a run waits for its repairs (tests: short). */
  repairWaitMs?: number;
  /** How long a schedule read or change waits for Temporal's answer before a 503 (default 15 s). */
  scheduleCallTimeoutMs?: number;
}

/** A schedule call with a deadline: Temporal answering slowly gets a 503, not a request that hangs. */
function withScheduleDeadline<T>(settings: ReconcileSettings, call: () => Promise<T>): Promise<T> {
  return settings.temporal.withDeadline(Date.now() + (settings.scheduleCallTimeoutMs ?? 15_000), call);
}

const unavailable = 'this API runs without a Temporal connection, so it cannot run a reconcile';

/** POST /reconcile: records a run and starts its workflow; with "wait" answers when it has finished. */
function registerReconcileStart(app: ZodApp, db: Db, reconcile: ReconcileSettings | undefined): void {
  app.post(
    '/reconcile',
    {
      schema: {
        tags: ['reconcile'],
        summary: 'Run the reconcile now: compare both portals with the registry and repair what drifted',
        body: reconcileRequestSchema.optional(),
        response: {
          200: reconcileRunSchema.describe('the run, finished ("wait": true)'),
          202: reconcileRunSchema.describe('the run, started'),
          ...errorResponses(400, 401, 503),
        },
      },
    },
    async (request, reply) => {
      if (!reconcile) return reply.code(503).send(errorBody('unavailable', unavailable));
      const { wait = false, dryRun = false } = request.body ?? {};
      const run = await createReconcileRun(db, { workflowId: reconcileWorkflowId(randomUUID()), dryRun, requestedBy: callerOf(request).name });
      let handle;
      try {
        handle = await reconcile.temporal.workflow.start<typeof reconcileWorkflow>('reconcileWorkflow', {
          workflowId: run.workflowId,
          taskQueue: reconcile.taskQueue,
          args: [{ trigger: 'api', dryRun, ...(reconcile.repairWaitMs === undefined ? {} : { repairWaitMs: reconcile.repairWaitMs }) }],
          staticSummary: `reconcile run ${run.id}${dryRun ? ' (dry run)' : ''}, asked for through the API`,
        });
      } catch (error) {
        request.log.error({ err: error }, 'Temporal did not take the reconcile');
        await markReconcileRunFailed(db, run.id, 'the workflow service (Temporal) could not be reached');
        return reply.code(503).send(errorBody('unavailable', `reconcile run ${run.id} could not be started: the workflow service (Temporal) is unreachable`));
      }
      if (!wait) return reply.code(202).send(run);
      // A failed run is recorded as such; the answer is the record either way.
      await handle.result().catch(() => undefined);
      return reply.code(200).send(await getReconcileRun(db, run.id));
    },
  );
}

function registerReconcileRunReads(app: ZodApp, db: Db): void {
  app.get(
    '/reconcile/runs',
    {
      schema: {
        tags: ['reconcile'],
        summary: 'Reconcile runs, newest first, each with its report',
        querystring: reconcileRunListQuerySchema,
        response: { 200: reconcileRunSchema.array(), ...errorResponses(400, 401) },
      },
    },
    async (request) => listReconcileRuns(db, request.query),
  );

  app.get(
    '/reconcile/runs/:id',
    {
      schema: {
        tags: ['reconcile'],
        summary: 'One reconcile run: its report, every drifted client with what differed and what was done, and the orphans',
        params: reconcileRunParamsSchema,
        response: { 200: reconcileRunDetailsSchema, ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => getReconcileRun(db, request.params.id),
  );
}

/** `changing`: the change this request makes, which the audit records only as its answer leaves. */
async function describeSchedule(db: Db, settings: ReconcileSettings, changing?: { tokenName: string; at: Date }) {
  const schedule = await withScheduleDeadline(settings, () => settings.temporal.schedule.getHandle(reconcileScheduleId).describe());
  // Who paused or resumed it: the audit knows (the schedule's note says only why).
  const lastChange = changing ?? (await lastAuditEvent(db, 'PUT', '/reconcile/schedule'));
  return {
    scheduleId: reconcileScheduleId,
    paused: schedule.state.paused,
    note: schedule.state.note ?? null,
    nextRuns: schedule.info.nextActionTimes,
    recentRuns: schedule.info.recentActions.map((action) => ({ workflowId: action.action.workflow.workflowId, scheduledAt: action.scheduledAt })),
    lastChangedBy: lastChange ? { token: lastChange.tokenName, at: lastChange.at } : null,
  };
}

const scheduleMissing = 'the reconcile-hourly schedule does not exist yet; it is made when the worker starts';

/** The hourly schedule: read it, pause or resume it. */
function registerReconcileSchedule(app: ZodApp, db: Db, reconcile: ReconcileSettings | undefined): void {
  app.get(
    '/reconcile/schedule',
    {
      schema: {
        tags: ['reconcile'],
        summary: 'The hourly reconcile schedule: paused or not, next and recent runs',
        response: { 200: reconcileScheduleSchema, ...errorResponses(401, 404, 503) },
      },
    },
    async (_request, reply) => {
      if (!reconcile) return reply.code(503).send(errorBody('unavailable', unavailable));
      try {
        return await describeSchedule(db, reconcile);
      } catch (error) {
        if (error instanceof ScheduleNotFoundError) return reply.code(404).send(errorBody('not-found', scheduleMissing));
        throw error;
      }
    },
  );

  app.put(
    '/reconcile/schedule',
    {
      schema: {
        tags: ['reconcile'],
        summary: 'Pause or resume the hourly reconcile',
        body: reconcileSchedulePauseSchema,
        response: { 200: reconcileScheduleSchema, ...errorResponses(400, 401, 404, 503) },
      },
    },
    async (request, reply) => {
      if (!reconcile) return reply.code(503).send(errorBody('unavailable', unavailable));
      const handle = reconcile.temporal.schedule.getHandle(reconcileScheduleId);
      try {
        const note = request.body.note ?? (request.body.paused ? 'paused through the API' : 'resumed through the API');
        await withScheduleDeadline(reconcile, () => (request.body.paused ? handle.pause(note) : handle.unpause(note)));
        return await describeSchedule(db, reconcile, { tokenName: callerOf(request).name, at: new Date() });
      } catch (error) {
        if (error instanceof ScheduleNotFoundError) return reply.code(404).send(errorBody('not-found', scheduleMissing));
        throw error;
      }
    },
  );
}

export const reconcileRoutes: FastifyPluginCallbackZod<{ db: Db; reconcile?: ReconcileSettings }> = (app, { db, reconcile }, done) => {
  registerReconcileStart(app, db, reconcile);
  registerReconcileRunReads(app, db);
  registerReconcileSchedule(app, db, reconcile);
  done();
};
