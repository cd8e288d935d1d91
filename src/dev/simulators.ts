import { startCaseWareSimulator, type CaseWareSimulator } from '../simulators/caseware/simulator';
import { startClientOnlineSimulator, type ClientOnlineSimulator } from '../simulators/client-online/simulator';

/** Both portal simulators, for a local run whose worker runs in a process of its own. */
export interface LocalSimulators {
  caseware: CaseWareSimulator;
  clientOnline: ClientOnlineSimulator;
  close(): Promise<void>;
}

export async function startSimulators(options: { host?: string; casewarePort: number; clientOnlinePort: number }): Promise<LocalSimulators> {
  const caseware = await startCaseWareSimulator({ host: options.host, port: options.casewarePort });
  let clientOnline: ClientOnlineSimulator;
  try {
    clientOnline = await startClientOnlineSimulator({ host: options.host, port: options.clientOnlinePort });
  } catch (error) {
    await caseware.close();
    throw error;
  }
  return {
    caseware,
    clientOnline,
    async close() {
      await Promise.all([caseware.close(), clientOnline.close()]);
    },
  };
}

/**
 * The environment that points a worker (`portal-sync worker`) at these simulators, paced a little
 * under their limit of 100 requests a second. The credentials are the simulators' own, not secrets.
 */
export function simulatorEnvironment(simulators: Pick<LocalSimulators, 'caseware' | 'clientOnline'>, pace: number): Record<string, string> {
  return {
    CASEWARE_BASE_URL: simulators.caseware.baseUrl,
    CASEWARE_CLIENT_ID: simulators.caseware.clientId,
    CASEWARE_CLIENT_SECRET: simulators.caseware.clientSecret,
    CASEWARE_REQUESTS_PER_SECOND: String(pace),
    CLIENT_ONLINE_BASE_URL: simulators.clientOnline.baseUrl,
    CLIENT_ONLINE_API_KEY: simulators.clientOnline.apiKey,
    CLIENT_ONLINE_REQUESTS_PER_SECOND: String(pace),
  };
}
