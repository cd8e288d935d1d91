import pino from 'pino';
import { simulatorEnvironment, startSimulators, type LocalSimulators } from '../../dev/simulators';
import { createLogger } from '../../logging';
import { simulatorPace } from '../../services';
import type { ExitCode } from '../exit-codes';
import { jsonEvent } from '../output';
import { runUntilStopped, startFailure, ShutdownSteps, type SimulatorsOptions } from '../process';

/** `portal-sync simulators`: both portal simulators, and the variables that point a worker at them. */
export async function runSimulators(options: SimulatorsOptions): Promise<ExitCode> {
  const json = options.json === true;
  // The simulators log nothing; this logger only reports a failure to stop them.
  const log = createLogger('error', pino.destination(2));
  const stops = new ShutdownSteps(log);
  let simulators: LocalSimulators;
  try {
    simulators = await startSimulators({ host: options.host, casewarePort: options.casewarePort, clientOnlinePort: options.clientOnlinePort });
  } catch (error) {
    throw startFailure('the simulators', error);
  }
  stops.push(() => simulators.close());
  const environment = simulatorEnvironment(simulators, simulatorPace);
  const state = { caseware: `${simulators.caseware.origin}/_sim/state`, clientOnline: `${simulators.clientOnline.origin}/_sim/state` };
  if (json) {
    jsonEvent({
      event: 'ready',
      command: 'simulators',
      caseware: { origin: simulators.caseware.origin, baseUrl: simulators.caseware.baseUrl, state: state.caseware },
      clientOnline: { origin: simulators.clientOnline.origin, baseUrl: simulators.clientOnline.baseUrl, state: state.clientOnline },
      environment,
    });
  } else {
    console.log(
      [
        '',
        'The portal simulators are running.',
        `  CaseWare simulator   ${state.caseware}`,
        `  Client Online sim.   ${state.clientOnline}`,
        '',
        'Point a worker at them (with DATABASE_URL and TEMPORAL_ADDRESS):',
        ...Object.entries(environment).map(([name, value]) => `  export ${name}=${value}`),
        '  portal-sync worker',
        '',
        'SIGTERM or Ctrl-C stops them.',
        '',
      ].join('\n'),
    );
  }
  return runUntilStopped({ log, stops, json });
}
