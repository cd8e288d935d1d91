import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { findSchemathesis } from '../../src/dev/schemathesis-cli';
import { apiToken, startTestStack, type TestStack } from '../support/stack';

// Schemathesis against the real API over HTTP (real PostgreSQL, Temporal with a worker, both
// portal simulators): every operation of the OpenAPI document, with generated valid and invalid
// requests. It fails on a 5xx or an answer that does not match the declared response schema, and
// prints what it found. `npm test` installs it before the tests (or `npm run schemathesis:install`).

let stack: TestStack;

beforeAll(async () => {
  // A reconcile with "wait": true answers when its run has ended, after the repairs of every client
  // Schemathesis made, or when the run stops waiting for them: 20 s here, within the 60 s a call
  // may take even on a loaded machine.
  stack = await startTestStack({ reconcileRepairWaitMs: 20_000 });
  // Something to find, so that generated ids and numbers sometimes meet a record.
  await stack.api('POST', '/clients', { clientNumber: '1001', kind: 'company', name: 'Alfa B.V.', links: { caseware: true } });
  await stack.api('POST', '/clients', { clientNumber: '2001', kind: 'person', name: 'P. Persoon', email: 'p@home.test' });
  await stack.api('POST', '/clients/1001/contacts', { email: 'q@alfa.test', firstName: 'Quinten', links: { caseware: true } });
});
afterAll(async () => {
  await stack?.stop();
});

/** Runs the CLI; answers its exit code and everything it printed. */
function run(binary: string, args: string[], cwd: string, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // In `cwd`, so that its cache (.schemathesis/) is not left in the work tree.
    const child = spawn(binary, args, { cwd, env: { ...process.env, NO_COLOR: '1', SCHEMATHESIS_TELEMETRY: 'false' } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

test('Schemathesis finds no server error and no answer outside its declared schema', { timeout: 300_000 }, async () => {
  const binary = findSchemathesis();
  if (!binary) throw new Error('Schemathesis is not installed: `npm test` installs it before the tests, or run `npm run schemathesis:install` (it goes into .tools/schemathesis)');
  const reports = mkdtempSync(path.join(tmpdir(), 'schemathesis-'));
  try {
    const { code, output } = await run(
      binary,
      [
        'run',
        `${stack.services.apiUrl}/openapi.json`,
        '--header',
        `Authorization: Bearer ${apiToken}`,
        '--checks',
        'not_a_server_error,response_schema_conformance',
        '--max-examples',
        process.env.SCHEMATHESIS_EXAMPLES ?? '15',
        '--max-time',
        process.env.SCHEMATHESIS_MAX_TIME ?? '60',
        '--seed',
        process.env.SCHEMATHESIS_SEED ?? '12',
        '--workers',
        '1',
        '--request-timeout',
        // POST /reconcile with "wait": true answers when the whole run has ended: on a loaded
        // machine, with every client Schemathesis made, that can take longer than other calls.
        '60',
        '--report',
        'junit',
        '--report-dir',
        reports,
      ],
      reports,
      240_000,
    );
    // All of it when something was found; else its summary.
    console.log(code === 0 ? output.slice(output.lastIndexOf('SUMMARY')) : output);
    expect(output, 'Schemathesis printed no summary').toMatch(/SUMMARY/);
    expect(code, `Schemathesis exited ${code}; its findings are printed above`).toBe(0);
    expect(readdirSync(reports).some((file) => file.endsWith('.xml')), 'no JUnit report').toBe(true);
  } finally {
    rmSync(reports, { recursive: true, force: true });
  }
});
