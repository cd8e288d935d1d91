import { createHash, timingSafeEqual } from 'node:crypto';
import type { onRequestHookHandler } from 'fastify';
import { errorBody } from './errors';

// Hashing both sides first gives equal-length buffers, so the comparison takes the same time
// whatever the presented token's length or content.
function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** An onRequest hook that refuses requests without `Authorization: Bearer <apiToken>`. */
export function bearerAuth(apiToken: string): onRequestHookHandler {
  if (apiToken.length === 0) throw new Error('the API token is empty; set a long random token');
  const expected = digest(apiToken);

  return function requireBearerToken(request, reply, done) {
    const presented = /^Bearer +(\S+) *$/i.exec(request.headers.authorization ?? '')?.[1];
    if (presented !== undefined && timingSafeEqual(digest(presented), expected)) {
      done();
      return;
    }
    // Answering without calling done() ends the request here, before the body is even parsed.
    void reply
      .code(401)
      .header('www-authenticate', 'Bearer')
      .send(errorBody('unauthorized', 'a valid bearer token is required: send "Authorization: Bearer <token>"'));
  };
}
