import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { isExecutable, pythonCommand, toolsDir } from './temporal-cli';

/**
 * Schemathesis, the OpenAPI fuzzer test/api/schemathesis.test.ts runs against the API: a virtual
 * environment of its own under .tools/, installed from the Python package index by `npm test`
 * before the tests run (or alone by `npm run schemathesis:install`). Nothing is downloaded by the
 * test itself.
 */
export const SCHEMATHESIS_VERSION = '4.32.5';
export const schemathesisDir = path.join(toolsDir, 'schemathesis');
export const schemathesisBinary = path.join(schemathesisDir, 'bin', 'schemathesis');

function installedVersion(): string | undefined {
  if (!isExecutable(schemathesisBinary)) return undefined;
  const result = spawnSync(schemathesisBinary, ['--version'], { encoding: 'utf8' });
  return result.status === 0 ? /version (\S+)/.exec(result.stdout)?.[1] : undefined;
}

/** The CLI when the pinned version is installed, else undefined. */
export function findSchemathesis(): string | undefined {
  return installedVersion() === SCHEMATHESIS_VERSION ? schemathesisBinary : undefined;
}

/** Installs the pinned version into .tools/schemathesis unless it is there already. */
export function ensureSchemathesis(log: (line: string) => void = console.log): string | undefined {
  const found = findSchemathesis();
  if (found) return found;
  log(`Installing Schemathesis ${SCHEMATHESIS_VERSION} (Python package index) into ${schemathesisDir}: test/api/schemathesis.test.ts runs it ...`);
  // A venv holds absolute paths: one moved, copied or of another version is made anew.
  rmSync(schemathesisDir, { recursive: true, force: true });
  const venv = spawnSync(pythonCommand(), ['-m', 'venv', schemathesisDir], { stdio: 'inherit' });
  if (venv.status !== 0) return undefined;
  const pip = spawnSync(
    path.join(schemathesisDir, 'bin', 'python'),
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', `schemathesis==${SCHEMATHESIS_VERSION}`],
    { stdio: 'inherit' },
  );
  return pip.status === 0 ? findSchemathesis() : undefined;
}

if (require.main === module && process.argv.includes('--install')) {
  const binary = ensureSchemathesis();
  if (!binary) {
    console.error('Schemathesis could not be installed; see above.');
    process.exit(1);
  }
  console.log(`${binary}: schemathesis ${SCHEMATHESIS_VERSION}`);
}
