import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { Registry } from 'prom-client';
import type { Db } from '../db';
import { DatabaseMetrics } from '../metrics/database-metrics';
import { processMetrics } from '../metrics/process-metrics';
import { bearerAuth } from './auth';

export interface MetricsSettings {
  /**
   * A token of its own for GET /metrics (Prometheus' `authorization` setting); unset: public like
   * /health. Not the API token: a monitoring system should not hold the keys to the registry.
   */
  token?: string;
}

/** GET /metrics: Prometheus text of the fleet's outbox and sync (from the database) and of this process. */
export const metricsRoutes: FastifyPluginCallbackZod<{ db: Db; metrics?: MetricsSettings }> = (app, { db, metrics }, done) => {
  const database = new DatabaseMetrics(db);
  const registry = Registry.merge([processMetrics().registry, database.registry]);
  const token = metrics?.token;
  app.get(
    '/metrics',
    {
      ...(token ? { onRequest: bearerAuth(token) } : {}),
      // Outside the OpenAPI document, which describes the registry API (see docs/operations.md, "Metrics and logs").
      schema: {
        hide: true,
        tags: ['operations'],
        summary: 'Prometheus metrics: outbox delivery and lag, sync latency, open sync errors, portal health and calls',
        description: token ? 'needs `Authorization: Bearer <METRICS_TOKEN>`' : 'public, like /health (no personal data: counts and codes only)',
        security: token ? [{ bearerAuth: [] }] : [],
      },
    },
    async (request, reply) => {
      try {
        await database.refresh();
      } catch (error) {
        // The process's own metrics still answer; portal_sync_metrics_database_up says what is missing.
        request.log.error({ err: error }, 'metrics: the database could not be read');
      }
      return reply.type(registry.contentType).send(await registry.metrics());
    },
  );
  done();
};
