import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The API token and how start-up text names it: never its value, which terminals and CI logs keep. */
export interface ApiToken {
  value: string;
  shownAs: string;
}

/** Where a local run keeps its generated token; the CLI reads it from there too. */
export function apiTokenFile(dataDir: string): string {
  return path.join(dataDir, 'api-token');
}

/** The token of a local run, if one has been written. */
export function readLocalApiToken(dataDir: string): string | undefined {
  const file = apiTokenFile(dataDir);
  if (!existsSync(file)) return undefined;
  const token = readFileSync(file, 'utf8').trim();
  return token === '' ? undefined : token;
}

/** API_TOKEN when it is set; otherwise the local token, generated on the first run. */
export function configuredApiToken(config: { API_TOKEN?: string; DATA_DIR: string }): ApiToken {
  if (config.API_TOKEN) return { value: config.API_TOKEN, shownAs: '$API_TOKEN' };
  const file = apiTokenFile(config.DATA_DIR);
  const relative = path.relative(process.cwd(), file);
  const shownAs = `$(cat ${relative.startsWith('..') || path.isAbsolute(relative) ? file : relative})`;
  const existing = readLocalApiToken(config.DATA_DIR);
  if (existing) return { value: existing, shownAs };
  const token = randomBytes(24).toString('base64url');
  mkdirSync(config.DATA_DIR, { recursive: true });
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { value: token, shownAs };
}
