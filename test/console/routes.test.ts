import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { temporalUiFromEnv } from '../../src/api/routes-console';
import { apiToken, startApi, type ApiHarness } from '../api/harness';

// What the API serves for the console, without a browser: the page is public, its settings need
// the token, and nothing but the console's own scripts, styles and named libraries is served.

let api: ApiHarness;

beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api?.close();
});

const get = (url: string, headers: Record<string, string> = {}) => api.app.inject({ method: 'GET', url, headers });

describe('the console routes', () => {
  test('/console leads to the page, which needs no token and allows only its own scripts', async () => {
    const redirect = await get('/console');
    expect(redirect.statusCode).toBe(302);
    expect(redirect.headers.location).toBe('console/');

    const page = await get('/console/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('<script type="module" src="assets/app.js">');
    const policy = String(page.headers['content-security-policy']);
    expect(policy).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
    expect(policy).toContain("frame-ancestors 'none'");
    expect(page.headers['referrer-policy']).toBe('no-referrer');
  });

  test('scripts, styles and the libraries are served; nothing else from the folder or node_modules', async () => {
    for (const url of ['/console/assets/app.js', '/console/assets/pages/client.js', '/console/assets/styles.css', '/console/vendor/preact.mjs', '/console/vendor/preact-hooks.mjs', '/console/vendor/htm.mjs']) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(200);
    }
    expect((await get('/console/assets/app.js')).headers['content-type']).toContain('javascript');
    for (const url of ['/console/assets/index.html', '/console/assets/../api/server.ts', '/console/assets/%2e%2e/api/server.ts', '/console/vendor/package.json', '/console/vendor/preact.mjs.map']) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(404);
    }
  });

  test("a name an object has of its own (constructor, toString, __proto__) is no library: 404 like any unknown name", async () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', 'nope.mjs']) {
      const response = await get(`/console/vendor/${name}`);
      expect(response.statusCode, name).toBe(404);
      expect(response.json().error.code, name).toBe('not-found');
    }
    expect((await get('/console/vendor/preact.mjs')).statusCode).toBe(200);
  });

  test('its settings (where the Temporal Web UI is) need the token', async () => {
    expect((await get('/console/config')).statusCode).toBe(401);
    const config = await get('/console/config', { authorization: `Bearer ${apiToken}` });
    expect(config.statusCode).toBe(200);
    expect(config.json()).toEqual({ temporalUi: temporalUiFromEnv(), token: { name: 'api', roles: ['viewer', 'registry', 'operator', 'admin'] } });
  });

  test('the Temporal Web UI address: TEMPORAL_UI_URL, else the local dev server on TEMPORAL_UI_PORT', () => {
    expect(temporalUiFromEnv({})).toEqual({ url: 'http://127.0.0.1:8233', namespace: 'default' });
    expect(temporalUiFromEnv({ TEMPORAL_UI_PORT: '18233', TEMPORAL_NAMESPACE: 'firm' })).toEqual({ url: 'http://127.0.0.1:18233', namespace: 'firm' });
    expect(temporalUiFromEnv({ TEMPORAL_UI_URL: 'https://temporal.example.test/', TEMPORAL_UI_PORT: '1' })).toEqual({
      url: 'https://temporal.example.test',
      namespace: 'default',
    });
    expect(() => temporalUiFromEnv({ TEMPORAL_UI_URL: 'not a url' })).toThrow(/TEMPORAL_UI_URL/);
  });
});
