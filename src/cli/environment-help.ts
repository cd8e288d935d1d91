import { configSchema } from '../config';

// What the process commands' --help says about their configuration: the variables of
// src/config.ts, each with its default as the schema gives it. The schema describes some; these
// notes the others.
const notes: Record<string, string> = {
  DATA_DIR: 'where the local database, Temporal history and API token live',
  TEMPORAL_NAMESPACE: 'Temporal namespace',
  TEMPORAL_TASK_QUEUE: 'task queue of the workflows and activities',
  TEMPORAL_PORT: 'port of the local Temporal dev server',
  TEMPORAL_UI_PORT: 'port of its Web UI',
  API_HOST: 'where the HTTP API listens',
  API_PORT: 'port of the HTTP API',
  API_TOKEN: 'the built-in bearer token of the API, with every role (at least 16 characters); unset: generated into DATA_DIR/api-token',
  CASEWARE_CLIENT_ID: 'CaseWare API credentials; required with CASEWARE_BASE_URL',
  CASEWARE_CLIENT_SECRET: 'required with CASEWARE_BASE_URL',
  CASEWARE_CONTACT_ROLE: 'role under which contacts see their client\'s entity',
  CASEWARE_CONTACT_GROUP: 'contact group every linked contact joins',
  CASEWARE_REQUEST_TIMEOUT_MS: 'timeout of one CaseWare call',
  CASEWARE_SIMULATOR_PORT: 'port of the local CaseWare simulator',
  CLIENT_ONLINE_API_KEY: 'sent as X-Api-Key; required with CLIENT_ONLINE_BASE_URL',
  CLIENT_ONLINE_SEND_BSN: "send person clients' BSN to Client Online",
  CLIENT_ONLINE_REQUEST_TIMEOUT_MS: 'timeout of one Client Online call',
  CLIENT_ONLINE_SIMULATOR_PORT: 'port of the local Client Online simulator',
  OUTBOX_POLL_INTERVAL_MS: 'how often the dispatcher looks for new events',
  LOG_LEVEL: 'fatal, error, warn, info, debug, trace or silent',
};

type Variable = keyof typeof configSchema.shape;

/** "Environment:" and one line a variable: name, default, meaning (`override` for what this command makes of it). */
export function environmentHelp(variables: readonly (Variable | [Variable, string])[]): string {
  const rows = variables.map((entry) => {
    const [name, override] = typeof entry === 'string' ? [entry, undefined] : entry;
    const schema = configSchema.shape[name];
    const parsed = schema.safeParse(undefined);
    const fallback = parsed.success && parsed.data !== undefined ? ` (default: ${typeof parsed.data === 'string' ? JSON.stringify(parsed.data) : String(parsed.data)})` : '';
    return { name, text: `${override ?? schema.description ?? notes[name] ?? ''}${fallback}` };
  });
  const width = Math.max(...rows.map((row) => row.name.length));
  return `\nEnvironment (validated at start; docs/operations.md, "Configuration"):\n${rows.map((row) => `  ${row.name.padEnd(width)}  ${row.text}`).join('\n')}`;
}
