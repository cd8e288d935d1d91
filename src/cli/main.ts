import { CommanderError } from 'commander';
import { buildProgram } from './program';
import { CliError, exitCodes } from './exit-codes';

/**
 * Runs the CLI on `argv` (as process.argv: node, script, then the arguments) and ends the process
 * with the exit code that says how it went (src/cli/exit-codes.ts).
 */
export async function runCli(argv: readonly string[] = process.argv): Promise<never> {
  // A reader that went away (`portal-sync errors | head`) is no error of ours.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(exitCodes.ok);
    throw error;
  });
  let code: number;
  try {
    await buildProgram().parseAsync([...argv]);
    code = typeof process.exitCode === 'number' ? process.exitCode : exitCodes.ok;
  } catch (error) {
    code = exitCodeOf(error);
  }
  // Let what was written reach its reader before the process ends.
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(code);
}

function exitCodeOf(error: unknown): number {
  // Commander has already printed its message (and help, if asked for).
  if (error instanceof CommanderError) return error.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
  if (error instanceof CliError) {
    process.stderr.write(`portal-sync: ${error.message}\n`);
    return error.exitCode;
  }
  process.stderr.write(`portal-sync: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return exitCodes.failed;
}

if (require.main === module) void runCli();
