import { readFileSync } from 'node:fs';
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);
const positiveMs = z.coerce.number().int().positive();
const positiveDays = z.coerce.number().int().positive();
const optionalUrl = z.url().optional();
const requestsPerSecond = z.coerce.number().positive().max(100_000).optional();
const requestsBurst = z.coerce.number().int().min(1).max(100_000).optional();
const base64Key = z
  .string()
  .refine((value) => /^[A-Za-z0-9+/]+={0,2}$/.test(value) && Buffer.from(value, 'base64').length === 32, {
    message: 'must be 32 bytes in base64, e.g. from `openssl rand -base64 32`',
  });
/** `NAME=` (as an env file writes an unset value) counts as unset, for settings where empty means nothing. */
const unsetWhenEmpty = <T extends z.ZodType>(schema: T) => z.preprocess((value) => (value === '' ? undefined : value), schema);
/** Temporal's workflow cache takes 0 (no cache) or at least 2; 1 the SDK would quietly turn into 2. */
const workflowCacheSize = z.coerce
  .number()
  .int()
  .min(0)
  .max(100_000)
  .refine((size) => size !== 1, { message: 'must be 0 (no cache: every workflow task replays its history) or at least 2' });
const originList = z
  .string()
  .transform((value) => value.split(',').map((origin) => origin.trim()).filter((origin) => origin !== ''))
  .pipe(z.array(z.url().transform((origin) => new URL(origin).origin)));

/**
 * The worker's workflow cache (WORKER_MAX_CACHED_WORKFLOWS). The SDK's own default grows with the
 * machine's memory (about 2 300 on 24 GiB), and each cached workflow holds about 0.3 MiB. A client's
 * workflow waits an hour for its next change: 250 keeps the clients of a busy hour; a workflow
 * evicted replays its history at its next task, which a cache of 100 paid for in CPU per change.
 */
export const defaultMaxCachedWorkflows = 250;

/**
 * Configuration from the environment, validated at start-up. Everything is optional for a local
 * run: what is not configured (database, Temporal, portals) `npm start` runs itself.
 */
/** The CaseWare role a contact gets unless CASEWARE_CONTACT_ROLE says otherwise: it may only view. */
export const defaultCaseWareContactRole = 'Contact - Entity Access';

export const configSchema = z.object({
  DATABASE_URL: optionalUrl.describe('PostgreSQL; unset: an embedded PostgreSQL under DATA_DIR'),
  DATA_DIR: z.string().default('.data'),
  TEMPORAL_ADDRESS: z.string().optional().describe('host:port of a Temporal server; unset: a local dev server'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('portal-sync'),
  TEMPORAL_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  TEMPORAL_TLS_CERT_PATH: unsetWhenEmpty(z.string().optional()).describe('client certificate (PEM) for mTLS, e.g. Temporal Cloud; with TEMPORAL_TLS_KEY_PATH'),
  TEMPORAL_TLS_KEY_PATH: unsetWhenEmpty(z.string().optional()).describe('private key (PEM) of the client certificate'),
  TEMPORAL_TLS_CA_PATH: unsetWhenEmpty(z.string().optional()).describe("CA certificate (PEM) of a self-hosted server's certificate; unset: the system's CAs"),
  TEMPORAL_API_KEY: unsetWhenEmpty(z.string().optional()).describe('Temporal Cloud API key (sent as a bearer token, over TLS)'),
  TEMPORAL_ENCRYPTION_KEY: unsetWhenEmpty(base64Key.optional()).describe('AES-256 key (base64, 32 bytes): every Temporal payload is encrypted with it; unset: not encrypted'),
  TEMPORAL_ENCRYPTION_KEY_ID: z.string().min(1).max(64).default('default').describe('the key id stored with each encrypted payload'),
  WORKER_METRICS_PORT: unsetWhenEmpty(port.optional()).describe("the Temporal SDK's Prometheus metrics of the worker on http://WORKER_METRICS_HOST:PORT/metrics; unset: off"),
  WORKER_METRICS_HOST: z.string().default('127.0.0.1'),
  WORKER_MAX_CACHED_WORKFLOWS: workflowCacheSize.default(defaultMaxCachedWorkflows)
    .describe('workflows the worker keeps in memory between their tasks; one evicted replays its history at its next task'),
  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: port.default(3000),
  API_TOKEN: z.string().min(16, 'API_TOKEN must be at least 16 characters').optional(),
  METRICS_TOKEN: unsetWhenEmpty(z.string().min(16, 'METRICS_TOKEN must be at least 16 characters').optional())
    .describe('bearer token GET /metrics requires; unset: /metrics is public like /health'),
  CODEC_ALLOWED_ORIGINS: originList.default([]).describe('origins (the Temporal UI) allowed to call the codec endpoints from a browser, comma-separated'),
  CASEWARE_BASE_URL: optionalUrl.describe('…/{firm}/ms/caseware-cloud/api/v2; unset: the simulator'),
  CASEWARE_CLIENT_ID: z.string().optional(),
  CASEWARE_CLIENT_SECRET: z.string().optional(),
  CASEWARE_CONTACT_ROLE: z.string().default(defaultCaseWareContactRole),
  CASEWARE_CONTACT_GROUP: z.string().optional(),
  CASEWARE_REQUEST_TIMEOUT_MS: positiveMs.default(10_000),
  CASEWARE_REQUESTS_PER_SECOND: requestsPerSecond.describe('the whole fleet stays under this many CaseWare requests a second; unset with the simulator: 90'),
  CASEWARE_REQUESTS_BURST: requestsBurst.describe('requests the fleet may send at once; default: one second\'s worth'),
  CASEWARE_SIMULATOR_PORT: port.default(4010),
  CLIENT_ONLINE_BASE_URL: optionalUrl.describe('Client Online API origin; unset: the simulator'),
  CLIENT_ONLINE_API_KEY: z.string().optional(),
  CLIENT_ONLINE_SEND_BSN: z.enum(['true', 'false']).default('false').transform((value) => value === 'true'),
  CLIENT_ONLINE_REQUEST_TIMEOUT_MS: positiveMs.default(10_000),
  CLIENT_ONLINE_REQUESTS_PER_SECOND: requestsPerSecond.describe('the whole fleet stays under this many Client Online requests a second; unset with the simulator: 90'),
  CLIENT_ONLINE_REQUESTS_BURST: requestsBurst.describe('requests the fleet may send at once; default: one second\'s worth'),
  CLIENT_ONLINE_SIMULATOR_PORT: port.default(4020),
  OUTBOX_POLL_INTERVAL_MS: positiveMs.default(250),
  OFFBOARDING_APPROVAL_THRESHOLD: z.coerce.number().int().min(0).default(10)
    .describe('offboardings that would end more accesses than this (contacts losing a CaseWare entity, Client Online logins losing a client) wait for approval'),
  OFFBOARDING_APPROVAL_WINDOW_HOURS: z.coerce.number().min(0).default(24)
    .describe("the rolling budget: accesses ended by the same token's offboardings without approval in this many hours count towards the threshold too; 0: off"),
  CREDENTIALS_MAIL_THRESHOLD: z.coerce.number().int().min(0).default(20)
    .describe('more new logins than this per portal within 10 minutes (each mails credentials) wait for the approval of two operator tokens; 0: off'),
  OUTBOX_RETENTION_DAYS: positiveDays.default(7).describe('delivered outbox events older than this are deleted once every portal has passed them'),
  SYNC_ERROR_RETENTION_DAYS: positiveDays.default(90).describe('resolved sync errors older than this are deleted'),
  RETENTION_INTERVAL_MS: positiveMs.default(300_000).describe('how often the dispatcher applies the retention'),
  FILE_REQUEST_POLL_INTERVAL_MS: positiveMs.default(300_000).describe('how often a file request asks CaseWare Cloud whether it is answered, and re-checks its recipients'),
  FILE_REQUEST_REMIND_DAYS_BEFORE_DUE: z
    .string()
    .default('7,1')
    .transform((value) => value.split(',').map((day) => day.trim()).filter((day) => day !== '').map(Number))
    .pipe(z.array(z.number().positive()))
    .describe('reminders this many days before the due date, comma-separated'),
  FILE_REQUEST_REMIND_EVERY_DAYS_AFTER_DUE: z.coerce.number().positive().default(3).describe('after the due date, a reminder every this many days'),
  FILE_REQUEST_MAX_REMINDERS_AFTER_DUE: z.coerce.number().int().min(0).default(5).describe('at most this many reminders after the due date (or in all, without one)'),
  FILE_REQUEST_REMIND_EVERY_DAYS_WITHOUT_DUE: z.coerce.number().min(0).default(14).describe('without a due date, a reminder every this many days (0: none)'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
}).refine(
  (c) => !c.CASEWARE_BASE_URL || (c.CASEWARE_CLIENT_ID && c.CASEWARE_CLIENT_SECRET),
  { message: 'CASEWARE_CLIENT_ID and CASEWARE_CLIENT_SECRET are required with CASEWARE_BASE_URL', path: ['CASEWARE_CLIENT_ID'] },
).refine(
  (c) => (c.TEMPORAL_TLS_CERT_PATH === undefined) === (c.TEMPORAL_TLS_KEY_PATH === undefined),
  { message: 'TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together', path: ['TEMPORAL_TLS_KEY_PATH'] },
).refine(
  (c) => !c.CLIENT_ONLINE_BASE_URL || c.CLIENT_ONLINE_API_KEY,
  { message: 'CLIENT_ONLINE_API_KEY is required with CLIENT_ONLINE_BASE_URL', path: ['CLIENT_ONLINE_API_KEY'] },
);

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {}

/**
 * The secrets, each of which may come from a file instead: `NAME_FILE=/run/secrets/name`, as Docker
 * and Kubernetes mount secrets, so that the value is in no container's environment.
 */
export const secretVariables = [
  'DATABASE_URL',
  'API_TOKEN',
  'METRICS_TOKEN',
  'TEMPORAL_API_KEY',
  'TEMPORAL_ENCRYPTION_KEY',
  'CASEWARE_CLIENT_SECRET',
  'CLIENT_ONLINE_API_KEY',
] as const satisfies readonly (keyof typeof configSchema.shape)[];

/**
 * The environment with each `NAME_FILE` replaced by NAME, the file's content without surrounding
 * white space. Its messages name variables and files, never a value.
 */
export function withSecretFiles(env: NodeJS.ProcessEnv, readFile = (file: string) => readFileSync(file, 'utf8')): NodeJS.ProcessEnv {
  const resolved = { ...env };
  const problems: string[] = [];
  for (const name of secretVariables) {
    const fileVariable = `${name}_FILE`;
    const file = env[fileVariable];
    if (file === undefined || file === '') continue;
    delete resolved[fileVariable];
    if (env[name] !== undefined && env[name] !== '') {
      problems.push(`  ${name}: set both ${name} and ${fileVariable}; keep one`);
      continue;
    }
    try {
      resolved[name] = readFile(file).trim();
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      problems.push(`  ${fileVariable}: cannot read ${file} (${reason})`);
    }
  }
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  return resolved;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = configSchema.safeParse(withSecretFiles(env));
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join('.') || '(config)'}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}
