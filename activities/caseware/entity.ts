import { isDeepStrictEqual } from 'node:util';
import type { CaseWareEntityFields } from '../../src/domain/caseware';
import { differingValues } from '../../src/domain/drift';
import { CaseWareError } from '../../src/portals/caseware/errors';
import { saveIdentity, type IdentityKey } from '../../src/sync/ledger';
import { driftedRecords } from '../../src/sync/repairs';
import { confirmed, forRecord, portal, type CaseWareSyncRun } from './context';
import type { CaseWarePort } from './types';

/**
 * Creates the client's entity; when CaseWare answers that the number is taken, the entity with
 * that number is the client's (made by hand or by an old link before go-live, or by an attempt
 * that died before the ledger recorded it) and is adopted: only the fields that differ from the
 * registry are written. The entity number is unique in CaseWare and creating an entity mails
 * nobody, so creating first can never make a second entity, and a new client costs no look-up.
 */
async function createOrAdoptEntity(caseware: CaseWarePort, fields: CaseWareEntityFields): Promise<{ CWGuid: string; adopted: boolean }> {
  try {
    return { ...(await caseware.createEntity(fields)), adopted: false };
  } catch (error) {
    if (!(error instanceof CaseWareError && error.code === 'duplicate-number')) throw error;
    const existing = await caseware.findEntityByNumber(fields.EntityNo);
    // Taken, yet not found by its number (deleted meanwhile): the refusal stands for this sync.
    if (!existing) throw error;
    const changes = differingValues(fields, existing);
    if (Object.keys(changes).length > 0) await caseware.updateEntity(existing.CWGuid, changes);
    return { CWGuid: existing.CWGuid, adopted: true };
  }
}

/** The ledger knows what CaseWare holds: sends only a change. Undefined: CaseWare no longer has the entity. */
async function sendEntityChange(run: CaseWareSyncRun, remoteId: string, lastSent: unknown, fields: CaseWareEntityFields): Promise<{ CWGuid: string } | undefined> {
  run.summary.entity = 'unchanged';
  if (isDeepStrictEqual(lastSent, fields)) return { CWGuid: remoteId };
  const entity = await run.caseware.updateEntity(remoteId, fields).catch((error: unknown) => {
    // Deleted in CaseWare: created (or adopted) again below.
    if (error instanceof CaseWareError && error.code === 'not-found') return undefined;
    throw error;
  });
  run.summary.entity = 'updated';
  return entity;
}

/** Reads the entity CaseWare holds (when the ledger knows one) and brings it to `fields`, or makes it. */
async function checkAndWriteEntity(run: CaseWareSyncRun, knownGuid: string | null, fields: CaseWareEntityFields): Promise<{ CWGuid: string }> {
  const { caseware, summary } = run;
  const held = knownGuid ? await caseware.getEntity(knownGuid) : undefined;
  if (held) {
    const changes = differingValues(fields, held);
    const entity = Object.keys(changes).length > 0 ? await caseware.updateEntity(held.CWGuid, changes) : held;
    summary.entity = Object.keys(changes).length > 0 ? 'updated' : 'unchanged';
    return entity;
  }
  const made = await createOrAdoptEntity(caseware, fields);
  summary.entity = made.adopted ? 'adopted' : 'created';
  return made;
}

/** Brings the client's entity to what the registry wants, and records it in the ledger and the progress. */
export async function ensureEntity(run: CaseWareSyncRun): Promise<void> {
  const { clientNumber, reading, summary, done } = run;
  const fields = reading.desired.entity;
  if (!fields) return;
  if (done.entity) {
    // An earlier attempt of this run brought the entity up to date; the summary is this attempt's.
    summary.entity = 'unchanged';
    return;
  }
  const clientId = reading.registry.client.id;
  const entityIdentity = reading.identities.find((i) => i.recordType === 'client');
  const entityKey: IdentityKey = { portal, recordType: 'client', recordId: clientId, clientNumber };
  await forRecord(run.errors, { recordType: 'client', recordId: clientId }, `client ${clientNumber}`, async () => {
    const verify = driftedRecords(reading.repairs.drift).has(`client:${clientId}`) || !confirmed(entityIdentity);
    let entity: { CWGuid: string } | undefined;
    // The entity the ledger knows, until CaseWare answers that it is gone.
    let knownGuid = run.entityGuid;
    if (!verify && entityIdentity?.remoteId) {
      entity = await sendEntityChange(run, entityIdentity.remoteId, entityIdentity.lastSent, fields);
      if (!entity) knownGuid = null;
    }
    entity ??= await checkAndWriteEntity(run, knownGuid, fields);
    run.entityGuid = entity.CWGuid;
    const remoteId = entity.CWGuid;
    await run.ledger.record((writer) => saveIdentity(writer, entityKey, { remoteId, lastSent: fields, access: 'active' }));
    done.entity = entity.CWGuid;
    run.reportProgress();
  });
}
