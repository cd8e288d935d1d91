import { readFileSync } from 'node:fs';
import type { DataConverter } from '@temporalio/common';
import type { TLSConfig } from '@temporalio/client';
import type { Config } from '../config';
import { dataConverterFromConfig } from './data-converter';

/**
 * How the service reaches a Temporal server that is not a local dev server: a self-hosted cluster
 * (plain, TLS with its own CA, or mTLS) or Temporal Cloud (mTLS certificate or API key), and the
 * data converter both its clients and its workers use.
 */
export interface TemporalConnectionOptions {
  /** TLS settings; `true`: TLS with the system's CAs and no client certificate. Unset: plain. */
  tls?: TLSConfig | true;
  /** Temporal Cloud API key, sent as `Authorization: Bearer` (needs TLS). */
  apiKey?: string;
  /** Payload encryption (src/temporal/data-converter.ts), for the client and for the worker. */
  dataConverter?: DataConverter;
}

type TemporalSettings = Pick<
  Config,
  'TEMPORAL_TLS_CERT_PATH' | 'TEMPORAL_TLS_KEY_PATH' | 'TEMPORAL_TLS_CA_PATH' | 'TEMPORAL_API_KEY' | 'TEMPORAL_ENCRYPTION_KEY' | 'TEMPORAL_ENCRYPTION_KEY_ID'
>;

/** The connection options the configuration asks for; certificate files are read here, once. */
export function temporalConnectionOptions(config: TemporalSettings): TemporalConnectionOptions {
  const tls: TLSConfig = {};
  if (config.TEMPORAL_TLS_CERT_PATH !== undefined && config.TEMPORAL_TLS_KEY_PATH !== undefined) {
    tls.clientCertPair = {
      crt: readPem('TEMPORAL_TLS_CERT_PATH', config.TEMPORAL_TLS_CERT_PATH),
      key: readPem('TEMPORAL_TLS_KEY_PATH', config.TEMPORAL_TLS_KEY_PATH),
    };
  }
  if (config.TEMPORAL_TLS_CA_PATH !== undefined) tls.serverRootCACertificate = readPem('TEMPORAL_TLS_CA_PATH', config.TEMPORAL_TLS_CA_PATH);
  const useTls = Object.keys(tls).length > 0 || config.TEMPORAL_API_KEY !== undefined;
  return {
    ...(useTls ? { tls: Object.keys(tls).length > 0 ? tls : true } : {}),
    ...(config.TEMPORAL_API_KEY !== undefined ? { apiKey: config.TEMPORAL_API_KEY } : {}),
    ...(config.TEMPORAL_ENCRYPTION_KEY !== undefined ? { dataConverter: dataConverterFromConfig(config) } : {}),
  };
}

function readPem(variable: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new Error(`${variable}: cannot read ${file} (${code})`, { cause: error });
  }
}
