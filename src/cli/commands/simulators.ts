import { Option, type Command } from 'commander';
import { examples, exitWith, port } from '../options';
import type { SimulatorsOptions } from '../process';

// Loaded when the command runs, not when the CLI starts: it brings the whole service (Temporal, the
// database driver, the API), which the commands that only talk to the API do not need. `require`,
// not `import()`: the bin registers tsx's CommonJS loader only.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const simulators = () => require('../run/simulators') as typeof import('../run/simulators');

export function registerSimulatorsCommand(program: Command): void {
  program
    .command('simulators')
    .summary('the two portal simulators alone, for a worker of its own')
    .description(
      'the CaseWare Cloud and Client Online simulators alone, for a worker in a process of its own; prints the variables that point ' +
        '`portal-sync worker` at them. They keep nothing between runs. Runs until SIGTERM or Ctrl-C',
    )
    .addOption(new Option('--caseware-port <port>', 'port of the CaseWare Cloud simulator (0: any free port)').env('CASEWARE_SIMULATOR_PORT').default(4010).argParser(port))
    .addOption(
      new Option('--client-online-port <port>', 'port of the Client Online simulator (0: any free port)').env('CLIENT_ONLINE_SIMULATOR_PORT').default(4020).argParser(port),
    )
    .option('--host <host>', 'where both listen', '127.0.0.1')
    .option('--json', 'print events as JSON lines on stdout ({"event":"ready", ..., "environment": {...}}, {"event":"stopped"})')
    .addHelpText(
      'after',
      examples('portal-sync simulators', 'portal-sync simulators --caseware-port 5010 --client-online-port 5020', 'portal-sync simulators --caseware-port 0 --client-online-port 0 --json'),
    )
    .action(exitWith((options: SimulatorsOptions) => simulators().runSimulators(options)));
}
