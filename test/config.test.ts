import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, secretVariables, withSecretFiles } from '../src/config';

// Secrets from files (`NAME_FILE`), as Docker secrets mount them under /run/secrets.

const dir = mkdtempSync(path.join(tmpdir(), 'portal-sync-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const secretFile = (name: string, content: string) => {
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return file;
};

function errorOf(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('secrets from files (NAME_FILE)', () => {
  it('reads the value from the file, without its trailing newline, when NAME is unset', () => {
    const config = loadConfig({
      API_TOKEN_FILE: secretFile('api-token', 'a-token-from-a-docker-secret\n'),
      CASEWARE_BASE_URL: 'https://caseware.example/firm/ms/caseware-cloud/api/v2',
      CASEWARE_CLIENT_ID: 'client',
      CASEWARE_CLIENT_SECRET_FILE: secretFile('caseware-secret', '  s3cret  \n'),
      DATABASE_URL_FILE: secretFile('database-url', 'postgres://postgres:pw@postgres:5432/portal_sync\n'),
    });
    expect(config.API_TOKEN).toBe('a-token-from-a-docker-secret');
    expect(config.CASEWARE_CLIENT_SECRET).toBe('s3cret');
    expect(config.DATABASE_URL).toBe('postgres://postgres:pw@postgres:5432/portal_sync');
  });

  it('takes an empty NAME (as an env file writes an unset value) as unset', () => {
    const env = withSecretFiles({ API_TOKEN: '', API_TOKEN_FILE: secretFile('token-2', 'another-token-of-length') });
    expect(env.API_TOKEN).toBe('another-token-of-length');
    expect(env.API_TOKEN_FILE).toBeUndefined();
  });

  it('refuses NAME and NAME_FILE together, naming both and neither value', () => {
    const error = errorOf(() => loadConfig({ API_TOKEN: 'the-secret-value-itself', API_TOKEN_FILE: secretFile('token-3', 'the-secret-in-the-file') }));
    expect(error.message).toContain('API_TOKEN and API_TOKEN_FILE');
    expect(error.message).not.toContain('the-secret-value-itself');
    expect(error.message).not.toContain('the-secret-in-the-file');
  });

  it('names the file variable and the file when the file cannot be read', () => {
    const missing = path.join(dir, 'no-such-secret');
    const error = errorOf(() => loadConfig({ CLIENT_ONLINE_API_KEY_FILE: missing }));
    expect(error.message).toContain(`CLIENT_ONLINE_API_KEY_FILE: cannot read ${missing} (ENOENT)`);
  });

  it('validates a value from a file as it validates the variable', () => {
    const error = errorOf(() => loadConfig({ API_TOKEN_FILE: secretFile('short-token', 'short\n') }));
    expect(error.message).toContain('API_TOKEN must be at least 16 characters');
    expect(error.message).not.toContain('short\n');
  });

  it('covers every secret of the configuration, and nothing else', () => {
    expect([...secretVariables].sort()).toEqual(
      ['API_TOKEN', 'CASEWARE_CLIENT_SECRET', 'CLIENT_ONLINE_API_KEY', 'DATABASE_URL', 'METRICS_TOKEN', 'TEMPORAL_API_KEY', 'TEMPORAL_ENCRYPTION_KEY'].sort(),
    );
    const env = withSecretFiles({ LOG_LEVEL_FILE: secretFile('level', 'debug') });
    expect(env.LOG_LEVEL).toBeUndefined();
  });
});
