import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';

/** The Fastify instance a route plugin receives: its schemas are zod schemas. */
export type ZodApp = Parameters<FastifyPluginCallbackZod>[0];
