import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { callerOf } from './auth';

// The console (issue 11): a page for the firm's system administrator, served by the API itself.
// The page, its scripts and styles are public; everything it shows comes from the same API that
// scripts use, with the token the administrator signs in with. Nothing here is in the OpenAPI
// document: these routes are not part of the API. Which of them need a token says routeAccess
// (src/api/auth.ts), like every route's.

export interface TemporalUiSettings {
  /** Where the Temporal Web UI is, e.g. http://127.0.0.1:8233. */
  url: string;
  namespace: string;
}

export interface ConsoleOptions {
  /** Unset: from TEMPORAL_UI_URL (or the local dev server's TEMPORAL_UI_PORT) and TEMPORAL_NAMESPACE. */
  temporalUi?: TemporalUiSettings;
}

const consoleDir = path.resolve(__dirname, '..', 'console');

const temporalUiEnvSchema = z.object({
  TEMPORAL_UI_URL: z.url().optional(),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(0).max(65535).default(8233),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
});

/** The Temporal Web UI the console links to; `npm start`'s dev server serves it on TEMPORAL_UI_PORT. */
export function temporalUiFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalUiSettings {
  const result = temporalUiEnvSchema.safeParse(env);
  if (!result.success) {
    const names = result.error.issues.map((issue) => issue.path.join('.')).join(', ');
    throw new Error(`the console cannot link to the Temporal Web UI: invalid ${names}`);
  }
  const { TEMPORAL_UI_URL, TEMPORAL_UI_PORT, TEMPORAL_NAMESPACE } = result.data;
  return { url: (TEMPORAL_UI_URL ?? `http://127.0.0.1:${TEMPORAL_UI_PORT}`).replace(/\/+$/, ''), namespace: TEMPORAL_NAMESPACE };
}

/**
 * The front end's libraries, straight from node_modules: no build step. A Map, not an object: the
 * name comes from the URL, and an object would also answer `constructor`, `toString`, `__proto__`.
 */
const vendorFiles: ReadonlyMap<string, string> = new Map([
  ['preact.mjs', require.resolve('preact')],
  ['preact-hooks.mjs', require.resolve('preact/hooks')],
  // htm's package main is CommonJS; its ES module sits beside it.
  ['htm.mjs', path.join(path.dirname(require.resolve('htm')), 'htm.mjs')],
]);

const vendorRoots = new Set([...vendorFiles.values()].map((file) => path.dirname(file)));

/**
 * The page, with a Content-Security-Policy that allows only this origin's scripts and the page's
 * one inline script, the import map (by its hash).
 */
function consolePage(): { html: string; contentSecurityPolicy: string } {
  const html = readFileSync(path.join(consoleDir, 'index.html'), 'utf8');
  const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(html)?.[1];
  if (importMap === undefined) throw new Error('src/console/index.html has no import map');
  const importMapHash = createHash('sha256').update(importMap, 'utf8').digest('base64');
  const contentSecurityPolicy = [
    "default-src 'none'",
    `script-src 'self' 'sha256-${importMapHash}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, contentSecurityPolicy };
}

const consoleConfigSchema = z.object({
  temporalUi: z.object({
    url: z.string().describe('the Temporal Web UI'),
    namespace: z.string(),
  }),
  // Which pages to offer (the Tokens page to an admin); the API decides what the token may do.
  token: z.object({ name: z.string(), roles: z.array(z.string()) }),
});

export const consoleRoutes: FastifyPluginAsyncZod<ConsoleOptions> = async (app, options) => {
  const temporalUi = options.temporalUi ?? temporalUiFromEnv();
  const page = consolePage();
  const hidden = { hide: true };

  // Relative links on the page (assets, API calls) then work behind a reverse proxy's path prefix too.
  app.get('/console', { schema: hidden }, (_request, reply) => reply.redirect('console/'));
  app.get('/console/', { schema: hidden }, (_request, reply) =>
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', page.contentSecurityPolicy)
      .header('referrer-policy', 'no-referrer')
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-cache')
      .send(page.html),
  );

  await app.register(fastifyStatic, {
    root: consoleDir,
    prefix: '/console/assets/',
    schemaHide: true,
    index: false,
    // Only the scripts and styles (the page itself is served above, with its headers), and the
    // libraries' files named below.
    allowedPath: (pathName, root) => (root === consoleDir ? /\.(js|css|svg)$/.test(pathName) : vendorRoots.has(root ?? '')),
    cacheControl: true,
    maxAge: 0,
  });

  app.get('/console/vendor/:file', { schema: { ...hidden, params: z.object({ file: z.string() }) } }, (request, reply) => {
    const file = vendorFiles.get(request.params.file);
    if (file === undefined) return reply.callNotFound();
    return reply.sendFile(path.basename(file), path.dirname(file), { maxAge: '1h' });
  });

  app.get(
    '/console/config',
    // For signed-in users only (any role): routeAccess.
    { schema: { ...hidden, response: { 200: consoleConfigSchema } } },
    (request) => ({ temporalUi, token: { name: callerOf(request).name, roles: [...callerOf(request).roles] } }),
  );
};
