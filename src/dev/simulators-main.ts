import { Command, InvalidArgumentError } from 'commander';
import { startCaseWareSimulator, type CaseWareSimulator } from '../simulators/caseware/simulator';
import { startClientOnlineSimulator, type ClientOnlineSimulator } from '../simulators/client-online/simulator';

/**
 * Both portal simulators in one process, with their normal rate limits, until SIGINT or SIGTERM:
 * `tsx src/dev/simulators-main.ts --caseware-port 0 --client-online-port 0`. The benchmark runs one
 * process per simulator (`--no-client-online`, `--no-caseware`) so that each has a core's worth of
 * its own and its CPU can be told apart; `--json` prints one line a program can read.
 */

export interface SimulatorsAnnouncement {
  pid: number;
  caseware?: { origin: string; baseUrl: string; clientId: string; clientSecret: string };
  clientOnline?: { origin: string; baseUrl: string; apiKey: string };
}

function portOption(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('a port is 0 (any free port) to 65535');
  return port;
}

function rateOption(value: string): number {
  const rate = Number(value);
  if (!Number.isFinite(rate) || rate <= 0) throw new InvalidArgumentError('must be a positive number');
  return rate;
}

async function main(): Promise<void> {
  const options = new Command('simulators')
    .description('Run the CaseWare Cloud and Client Online simulators')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--caseware-port <port>', 'CaseWare Cloud simulator port (default 0: any free port)', portOption, 0)
    .option('--client-online-port <port>', 'Client Online simulator port (default 0: any free port)', portOption, 0)
    .option('--no-caseware', 'do not run the CaseWare Cloud simulator')
    .option('--no-client-online', 'do not run the Client Online simulator')
    .option('--burst <tokens>', 'rate limit: bucket size of each simulator', rateOption, 200)
    .option('--per-second <tokens>', 'rate limit: tokens per second of each simulator', rateOption, 100)
    .option('--json', 'print one JSON line with the URLs instead of text')
    .parse()
    .opts<{
      host: string;
      casewarePort: number;
      clientOnlinePort: number;
      caseware: boolean;
      clientOnline: boolean;
      burst: number;
      perSecond: number;
      json?: boolean;
    }>();

  const rateLimit = { burst: options.burst, replenishPerSecond: options.perSecond };
  let caseware: CaseWareSimulator | undefined;
  let clientOnline: ClientOnlineSimulator | undefined;
  const stop = async () => {
    await Promise.allSettled([caseware?.close(), clientOnline?.close()]);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());

  if (options.caseware) caseware = await startCaseWareSimulator({ host: options.host, port: options.casewarePort, rateLimit });
  if (options.clientOnline) clientOnline = await startClientOnlineSimulator({ host: options.host, port: options.clientOnlinePort, rateLimit });

  if (options.json) {
    const announcement: SimulatorsAnnouncement = {
      pid: process.pid,
      ...(caseware
        ? { caseware: { origin: caseware.origin, baseUrl: caseware.baseUrl, clientId: caseware.clientId, clientSecret: caseware.clientSecret } }
        : {}),
      ...(clientOnline ? { clientOnline: { origin: clientOnline.origin, baseUrl: clientOnline.baseUrl, apiKey: clientOnline.apiKey } } : {}),
    };
    console.log(JSON.stringify(announcement));
    return;
  }
  const lines = ['Simulators are running (Ctrl-C stops them).'];
  if (caseware) {
    lines.push(`  CaseWare Cloud   ${caseware.baseUrl}   (client id ${caseware.clientId}, secret ${caseware.clientSecret})`);
    lines.push(`                   ${caseware.origin}/_sim/state`);
  }
  if (clientOnline) {
    lines.push(`  Client Online    ${clientOnline.baseUrl}/api/v1   (X-Api-Key ${clientOnline.apiKey})`);
    lines.push(`                   ${clientOnline.origin}/_sim/state`);
  }
  lines.push(`  Rate limit       burst ${rateLimit.burst}, ${rateLimit.replenishPerSecond}/s each`);
  console.log(lines.join('\n'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
