import type { Db } from '../../src/db';
import { personKeyOfRef } from '../../src/sync/login-refs';
import type { ClientOnlineContext } from './context';
import { holdsItsPush, readClient, removedRefs, type ClientOnlineReading } from './reading';

/**
 * A sync run in order: the clients to push first (each gives a login this run takes away from
 * another client somewhere to stay), then the client itself; and every login any of them touches.
 */
export interface ClientOnlinePlan {
  handovers: ClientOnlineReading[];
  own: ClientOnlineReading;
  refs: Set<string>;
}

/** How deep a chain of hand-overs may go (each one a client whose own push takes a login away). */
const maxHandoverDepth = 4;

/** The registry clients whose push may carry a login: its person's own client and the companies of its followers. */
async function clientsThatMayCarry(db: Db, ref: string): Promise<string[]> {
  const key = await personKeyOfRef(db, ref);
  const id = Number(key.slice(2));
  if (!/^[pc]-/.test(key) || !Number.isSafeInteger(id)) return [];
  const ownClient = key.startsWith('p-')
    ? db('clients').where({ id }).select('client_number')
    : db('contacts').join('clients', 'clients.id', 'contacts.client_id').where('contacts.id', id).select('clients.client_number');
  const followers = db('contacts').join('clients', 'clients.id', 'contacts.client_id')
    .where(key.startsWith('p-') ? 'contacts.master_client_id' : 'contacts.master_contact_id', id)
    .select('clients.client_number');
  const rows = await ownClient.union(followers) as { client_number: string }[];
  return [...new Set(rows.map((row) => row.client_number))].sort();
}

/**
 * Plans a sync run. Client Online deletes a login left with no client, and mails new credentials
 * when a later push brings it back. So when this client lets go of a login, another client the
 * registry gives that login to must hold it in Client Online first. One that does, by a ledger
 * that agrees with the registry (its last push is the push it should have), is enough; otherwise
 * each client that should hold it is pushed first (and, in turn, what its push lets go of). A
 * ledger copy that differs from the registry proves nothing: a push whose answer was lost, or a
 * change not yet synced, may stand between them.
 */
export async function planSyncRun(context: ClientOnlineContext, clientNumber: string, current?: ClientOnlineReading, reader: Db = context.db): Promise<ClientOnlinePlan> {
  const handovers: ClientOnlineReading[] = [];
  const visited = new Set([clientNumber]);
  async function handOver(reading: ClientOnlineReading, depth: number): Promise<void> {
    if (depth >= maxHandoverDepth) return;
    for (const ref of removedRefs(reading)) {
      const waiting: ClientOnlineReading[] = [];
      let held = false;
      for (const other of await clientsThatMayCarry(reader, ref)) {
        if (other === reading.clientNumber) continue;
        const theirs = await readClient(context, other, reader).catch(() => undefined);
        if (!theirs?.desired.push?.users.some((user) => user.ref === ref)) continue;
        if (holdsItsPush(theirs)) {
          held = true;
          break;
        }
        waiting.push(theirs);
      }
      if (held) continue;
      for (const theirs of waiting) {
        if (visited.has(theirs.clientNumber)) continue;
        visited.add(theirs.clientNumber);
        await handOver(theirs, depth + 1);
        handovers.push(theirs);
      }
    }
  }
  const own = current ?? (await readClient(context, clientNumber, reader));
  await handOver(own, 0);
  const refs = new Set([...handovers.flatMap((h) => [...h.refs]), ...own.refs]);
  return { handovers, own, refs };
}
