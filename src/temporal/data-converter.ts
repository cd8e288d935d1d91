import path from 'node:path';
import type { DataConverter } from '@temporalio/common';
import type { CodecServerSettings } from '../api/routes-codec';
import type { Config } from '../config';
import { EncryptionCodec, encryptionKeyFromBase64, type EncryptionKey } from './encryption-codec';

/** The module with the failure converter that puts messages and stack traces into (encrypted) payloads. */
export const encodingFailureConverterPath = path.resolve(__dirname, 'failure-converter.ts');

/**
 * The data converter of every Temporal client and worker of the service when payload encryption is
 * on: payloads and failure details encrypted with the key. Clients and workers must agree, and a
 * workflow bundle built ahead of time must be built with `failureConverterPath` too.
 */
export function encryptingDataConverter(key: EncryptionKey): DataConverter {
  return { payloadCodecs: [new EncryptionCodec(key)], failureConverterPath: encodingFailureConverterPath };
}

/** The configured encryption key; none when TEMPORAL_ENCRYPTION_KEY is unset. */
export function encryptionKeyFromConfig(config: Pick<Config, 'TEMPORAL_ENCRYPTION_KEY' | 'TEMPORAL_ENCRYPTION_KEY_ID'>): EncryptionKey | undefined {
  if (config.TEMPORAL_ENCRYPTION_KEY === undefined) return undefined;
  return encryptionKeyFromBase64(config.TEMPORAL_ENCRYPTION_KEY_ID, config.TEMPORAL_ENCRYPTION_KEY);
}

/** The data converter the configuration asks for: encrypting with a key, else the SDK's default. */
export function dataConverterFromConfig(config: Pick<Config, 'TEMPORAL_ENCRYPTION_KEY' | 'TEMPORAL_ENCRYPTION_KEY_ID'>): DataConverter | undefined {
  const key = encryptionKeyFromConfig(config);
  return key && encryptingDataConverter(key);
}

/** The API's codec server (src/api/routes-codec.ts) for the configured key; none without a key. */
export function codecServerSettingsFromConfig(
  config: Pick<Config, 'TEMPORAL_ENCRYPTION_KEY' | 'TEMPORAL_ENCRYPTION_KEY_ID' | 'CODEC_ALLOWED_ORIGINS'>,
): CodecServerSettings | undefined {
  const key = encryptionKeyFromConfig(config);
  return key && { codec: new EncryptionCodec(key), allowedOrigins: config.CODEC_ALLOWED_ORIGINS };
}
