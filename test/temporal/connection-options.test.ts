import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { defaultMaxCachedWorkflows, loadConfig } from '../../src/config';
import { temporalConnectionOptions } from '../../src/temporal/connection-options';
import { codecServerSettingsFromConfig } from '../../src/temporal/data-converter';
import { EncryptionCodec } from '../../src/temporal/encryption-codec';

const dir = mkdtempSync(path.join(tmpdir(), 'temporal-tls-'));
const cert = path.join(dir, 'client.pem');
const key = path.join(dir, 'client.key');
const ca = path.join(dir, 'ca.pem');
writeFileSync(cert, 'CERT');
writeFileSync(key, 'KEY');
writeFileSync(ca, 'CA');

describe('the Temporal connection settings', () => {
  it('connect in plain text, without a codec, when nothing is configured', () => {
    expect(temporalConnectionOptions(loadConfig({}))).toEqual({});
  });

  it('take an empty value (NAME= in an env file) as unset', () => {
    const config = loadConfig({ TEMPORAL_API_KEY: '', TEMPORAL_TLS_CERT_PATH: '', TEMPORAL_TLS_KEY_PATH: '', TEMPORAL_ENCRYPTION_KEY: '', METRICS_TOKEN: '', WORKER_METRICS_PORT: '' });
    expect(temporalConnectionOptions(config)).toEqual({});
    expect([config.METRICS_TOKEN, config.WORKER_METRICS_PORT]).toEqual([undefined, undefined]);
  });

  it('use mTLS with the certificate and key files, and a CA of its own', () => {
    const options = temporalConnectionOptions(loadConfig({ TEMPORAL_TLS_CERT_PATH: cert, TEMPORAL_TLS_KEY_PATH: key, TEMPORAL_TLS_CA_PATH: ca }));
    expect(options.tls).toEqual({ clientCertPair: { crt: Buffer.from('CERT'), key: Buffer.from('KEY') }, serverRootCACertificate: Buffer.from('CA') });
    expect(options.apiKey).toBeUndefined();
  });

  it('use TLS with the system CAs for an API key (Temporal Cloud)', () => {
    expect(temporalConnectionOptions(loadConfig({ TEMPORAL_API_KEY: 'an-api-key' }))).toEqual({ tls: true, apiKey: 'an-api-key' });
  });

  it('encrypt payloads with the configured key', () => {
    const options = temporalConnectionOptions(loadConfig({ TEMPORAL_ENCRYPTION_KEY: randomBytes(32).toString('base64'), TEMPORAL_ENCRYPTION_KEY_ID: 'k2' }));
    expect(options.dataConverter?.payloadCodecs?.[0]).toBeInstanceOf(EncryptionCodec);
    expect(options.dataConverter?.failureConverterPath).toMatch(/failure-converter\.ts$/);
  });

  it('are refused at start-up when incomplete or malformed, naming the variable', () => {
    expect(() => loadConfig({ TEMPORAL_TLS_CERT_PATH: cert })).toThrow(/TEMPORAL_TLS_KEY_PATH: .*go together/);
    expect(() => loadConfig({ TEMPORAL_ENCRYPTION_KEY: randomBytes(16).toString('base64') })).toThrow(/TEMPORAL_ENCRYPTION_KEY: must be 32 bytes/);
    expect(() => temporalConnectionOptions(loadConfig({ TEMPORAL_TLS_CERT_PATH: path.join(dir, 'missing.pem'), TEMPORAL_TLS_KEY_PATH: key }))).toThrow(
      /TEMPORAL_TLS_CERT_PATH: cannot read .*missing\.pem \(ENOENT\)/,
    );
  });

  it('read the UI origins allowed to call the codec as origins', () => {
    expect(loadConfig({ CODEC_ALLOWED_ORIGINS: 'http://127.0.0.1:8080/, https://temporal.firm.example' }).CODEC_ALLOWED_ORIGINS).toEqual([
      'http://127.0.0.1:8080',
      'https://temporal.firm.example',
    ]);
  });

  it('give the API a codec server only with a key, for the configured UI origins', () => {
    expect(codecServerSettingsFromConfig(loadConfig({ CODEC_ALLOWED_ORIGINS: 'http://127.0.0.1:8080' }))).toBeUndefined();
    const settings = codecServerSettingsFromConfig(
      loadConfig({ TEMPORAL_ENCRYPTION_KEY: randomBytes(32).toString('base64'), CODEC_ALLOWED_ORIGINS: 'http://127.0.0.1:8080' }),
    );
    expect(settings?.codec).toBeInstanceOf(EncryptionCodec);
    expect(settings?.allowedOrigins).toEqual(['http://127.0.0.1:8080']);
  });
});

describe("the worker's workflow cache setting", () => {
  it('is bounded by default, and takes 0 (no cache) or a size of at least 2', () => {
    expect(loadConfig({}).WORKER_MAX_CACHED_WORKFLOWS).toBe(defaultMaxCachedWorkflows);
    expect(loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '0' }).WORKER_MAX_CACHED_WORKFLOWS).toBe(0);
    expect(loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '500' }).WORKER_MAX_CACHED_WORKFLOWS).toBe(500);
  });

  it('is refused at start-up when it is no size the SDK takes as given, naming the variable', () => {
    expect(() => loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '1' })).toThrow(/WORKER_MAX_CACHED_WORKFLOWS: must be 0 \(no cache.*\) or at least 2/);
    expect(() => loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '-5' })).toThrow(/WORKER_MAX_CACHED_WORKFLOWS/);
    expect(() => loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: 'many' })).toThrow(/WORKER_MAX_CACHED_WORKFLOWS/);
    expect(() => loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '2.5' })).toThrow(/WORKER_MAX_CACHED_WORKFLOWS/);
  });
});
