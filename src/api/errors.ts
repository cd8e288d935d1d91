import { STATUS_CODES } from 'node:http';
import { isGrpcServiceError } from '@temporalio/client';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isRegistryError, type RegistryErrorCode } from '../registry/errors';
import { isConcurrentWriteError } from '../registry/write-transaction';

// Every refusal has the same shape, `{ error: { code, message, issues? } }`. Messages name fields,
// record ids and client numbers, never the values sent: those may be personal data.

export type ApiErrorCode = 'invalid-request' | 'unauthorized' | 'forbidden' | 'internal' | 'unavailable' | RegistryErrorCode;

/** gRPC's codes for a server that did not answer within the call's deadline, or could not be reached. */
const temporalUnreachableCodes = new Set([4 /* DEADLINE_EXCEEDED */, 14 /* UNAVAILABLE */]);

/** Temporal did not answer in time or could not be reached (the SDK wraps the gRPC error as a cause). */
export function isTemporalUnreachable(error: unknown): boolean {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if (isGrpcServiceError(cause) && temporalUnreachableCodes.has(cause.code)) return true;
  }
  return false;
}

/** A valid token that may not do this: 403, with a message that says why (the role needed; four eyes). */
export class ForbiddenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ForbiddenError';
  }
}

export const errorResponseSchema = z
  .object({
    error: z.object({
      code: z.string().describe('invalid-request, unauthorized, forbidden, not-found, conflict, rule, unavailable or internal'),
      message: z.string(),
      issues: z
        .array(z.object({ path: z.string().describe('e.g. body.email, params.number'), message: z.string() }))
        .optional()
        .describe('one entry per invalid field'),
    }),
  })
  .meta({ id: 'Error' });

export type ErrorResponse = z.output<typeof errorResponseSchema>;
type Issue = NonNullable<ErrorResponse['error']['issues']>[number];

const errorDescriptions = {
  400: 'invalid request: a field is missing, unknown or malformed',
  401: 'missing or wrong bearer token',
  403: 'the token may not do this: the route needs another role, or the rule of four eyes',
  404: 'no such client or contact',
  409: 'conflicts with an existing record or its state, or with other requests changing it at the same time (then try again)',
  422: 'refused by a registry rule',
  503: 'the workflow service (Temporal) cannot be reached; nothing was started',
} as const;

/** Documented error responses for a route, by status code. */
export function errorResponses<S extends keyof typeof errorDescriptions>(
  ...statuses: S[]
): Record<S, typeof errorResponseSchema> {
  return Object.fromEntries(
    statuses.map((status) => [status, errorResponseSchema.describe(errorDescriptions[status])]),
  ) as Record<S, typeof errorResponseSchema>;
}

export function errorBody(code: ApiErrorCode, message: string, issues?: Issue[]): ErrorResponse {
  return { error: issues ? { code, message, issues } : { code, message } };
}

const statusForRegistryError: Record<RegistryErrorCode, number> = {
  'not-found': 404,
  conflict: 409,
  rule: 422,
};

const requestLocation: Record<string, string> = {
  body: 'body',
  params: 'params',
  querystring: 'query',
  headers: 'headers',
};

function validationIssues(error: {
  validation: { instancePath: string; keyword: string; message?: string; params: Record<string, unknown> }[];
  validationContext?: string;
}): Issue[] {
  const location = requestLocation[error.validationContext ?? ''] ?? 'request';
  return error.validation.flatMap((issue) => {
    const path = [location, ...issue.instancePath.split('/').filter((segment) => segment !== '')];
    // A strict object reports all unknown keys in one issue at the object; name each field.
    const keys = issue.params.keys;
    if (issue.keyword === 'unrecognized_keys' && Array.isArray(keys)) {
      return keys.map((key) => ({
        path: [...path, String(key)].join('.'),
        message: 'unknown field, or a field that cannot be changed',
      }));
    }
    return [{ path: path.join('.'), message: issue.message ?? 'invalid value' }];
  });
}

// Fastify's own client errors carry messages that may quote the body (a JSON syntax error shows
// the text around the fault), so only these known ones keep a specific message.
const knownClientErrors: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'the request body is not valid JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'the body is empty but the content type is application/json',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'the API accepts only application/json bodies',
  FST_ERR_CTP_BODY_TOO_LARGE: 'the request body is too large',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'the request body does not match its content-length',
  // Met before routing (Fastify's frameworkErrors): the default answer quotes the path.
  FST_ERR_BAD_URL: 'the URL is not valid: a path segment has a malformed percent-encoding',
  FST_ERR_MAX_PARAM_LENGTH: 'a path parameter is too long',
};

function fastifyClientError(error: unknown): { status: number; message: string } | undefined {
  if (typeof error !== 'object' || error === null || !('statusCode' in error)) return undefined;
  const status = error.statusCode;
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  const code = 'code' in error && typeof error.code === 'string' ? error.code : '';
  const message = knownClientErrors[code] ?? STATUS_CODES[status] ?? 'bad request';
  return { status, message };
}

export function apiErrorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (isRegistryError(error)) {
    return reply.code(statusForRegistryError[error.code]).send(errorBody(error.code, error.message));
  }
  if (error instanceof ForbiddenError) return reply.code(403).send(errorBody('forbidden', error.message));
  // Retried in the registry already (src/registry/write-transaction.ts): the caller may try again.
  if (isConcurrentWriteError(error)) {
    request.log.warn({ err: error }, 'a registry write kept meeting concurrent writes');
    return reply.code(409).send(errorBody('conflict', error.message));
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = validationIssues(error);
    const summary = issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
    return reply.code(400).send(errorBody('invalid-request', `invalid request: ${summary}`, issues));
  }
  if (isTemporalUnreachable(error)) {
    request.log.warn({ err: error }, 'Temporal did not answer in time');
    return reply.code(503).send(errorBody('unavailable', 'the Temporal server did not answer in time; nothing was changed that the answer would show, try again'));
  }
  const clientError = fastifyClientError(error);
  if (clientError) {
    return reply.code(clientError.status).send(errorBody('invalid-request', clientError.message));
  }
  // The logger's err serializer (loggableError, set in server.ts) keeps driver details out.
  request.log.error({ err: error }, 'request failed');
  return reply
    .code(500)
    .send(errorBody('internal', `internal error; the server log has the details under request id ${request.id}`));
}

export function apiNotFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.code(404).send(errorBody('not-found', `no route ${request.method} ${request.url.split('?')[0] ?? ''}`));
}
