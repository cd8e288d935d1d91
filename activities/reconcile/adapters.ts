import { ApplicationFailure } from '@temporalio/common';
import { desiredCaseWareState } from '../../src/domain/caseware';
import { desiredClientOnlineState } from '../../src/domain/client-online';
import {
  caseWareDrift,
  caseWareOrphans,
  clientOnlineDrift,
  clientOnlineOrphans,
  shareKey,
  type CaseWareSnapshot,
  type ClientOnlineSnapshot,
} from '../../src/domain/drift';
import type { ExistingLogin } from '../../src/domain/login-adoption';
import { caseWareOutlook, clientOnlineOutlook } from '../../src/domain/outlook';
import type { CwUser } from '../../src/portals/caseware/api';
import type { PortalCallCounter } from '../../src/portals/http';
import type { ReconcilePortal } from '../../src/registry/reconcile-runs';
import { replaceDirectory } from '../../src/sync/login-refs';
import type { ReconcileActivityDeps, ReconcileAdapter } from './types';
import { configurationFailure } from '../../workflows/definitions';

const contactUsersByEmail = new WeakMap<CaseWareSnapshot, Map<string, CwUser>>();
/** CaseWare's contact users by email (lower case), from one bulk read. */
function usersByEmail(snapshot: CaseWareSnapshot): Map<string, CwUser> {
  let byEmail = contactUsersByEmail.get(snapshot);
  if (!byEmail) {
    byEmail = new Map([...snapshot.usersByGuid.values()].map((user) => [user.Email.trim().toLowerCase(), user]));
    contactUsersByEmail.set(snapshot, byEmail);
  }
  return byEmail;
}

const loginsOfSnapshot = new WeakMap<ClientOnlineSnapshot, Map<string, ExistingLogin>>();
/** Every login Client Online holds, by ref, from one bulk read. */
function loginsByRef(snapshot: ClientOnlineSnapshot): Map<string, ExistingLogin> {
  let logins = loginsOfSnapshot.get(snapshot);
  if (!logins) {
    logins = new Map();
    for (const client of snapshot.clientsByNumber.values()) for (const user of client.users) logins.set(user.ref, { ref: user.ref, email: user.email.trim().toLowerCase() });
    loginsOfSnapshot.set(snapshot, logins);
  }
  return logins;
}

/** CaseWare's bulk read: entities, contact users, shares under the contact role and the contact group's members. */
async function readCaseWare(deps: ReconcileActivityDeps, counter: PortalCallCounter): Promise<CaseWareSnapshot> {
    const port = deps.caseware.withCallCounter(counter);
    const [entities, users, assignments, roles, groups] = await Promise.all([
      port.listEntities(),
      port.listContactUsers(),
      port.listAllRoleAssignments(),
      port.listRoles(),
      deps.contactGroupName ? port.listGroups() : Promise.resolve([]),
    ]);
    const role = roles.find((r) => r.Name === deps.contactRoleName);
    if (!role) {
      throw ApplicationFailure.nonRetryable(
        `CaseWare Cloud has no role named "${deps.contactRoleName}"; set CASEWARE_CONTACT_ROLE to an existing contact role`,
        configurationFailure,
      );
    }
    const group = deps.contactGroupName ? groups.find((g) => g.Name === deps.contactGroupName) : undefined;
    if (deps.contactGroupName && !group) {
      throw ApplicationFailure.nonRetryable(
        `CaseWare Cloud has no contact group named "${deps.contactGroupName}"; create it or unset CASEWARE_CONTACT_GROUP`,
        configurationFailure,
      );
    }
    return {
      entitiesByGuid: new Map(entities.map((e) => [e.CWGuid, e])),
      entitiesByNumber: new Map(entities.map((e) => [e.EntityNo, e])),
      usersByGuid: new Map(users.map((u) => [u.CWGuid, u])),
      shares: new Set(assignments.map((a) => shareKey(a.entityId, a.userId, a.roleId))),
      roleId: role.CWGuid,
      groupMembers: group ? new Set(await port.listGroupMembers(group.CWGuid)) : undefined,
    };
}

export function caseWareAdapter(deps: ReconcileActivityDeps): ReconcileAdapter<CaseWareSnapshot> {
  return {
    read: (counter) => readCaseWare(deps, counter),
  drift({ client, contacts }, batch, snapshot) {
    const desired = desiredCaseWareState(client, contacts);
    return caseWareDrift(desired, batch.ledger.get(client.clientNumber) ?? [], snapshot, batch.withErrors.get(client.clientNumber));
  },
  concerns({ client, contacts }, batch) {
    return desiredCaseWareState(client, contacts).entity !== null || (batch.ledger.get(client.clientNumber) ?? []).length > 0;
  },
  orphans: (snapshot, known) => caseWareOrphans(snapshot, known),
  outlook({ client, contacts }, batch, snapshot, _masters, run) {
    const heldByOthers = (contactId: number, userGuid: string) => {
      const holder = run.userHolders.get(userGuid);
      return holder !== undefined && holder !== contactId;
    };
    return caseWareOutlook(desiredCaseWareState(client, contacts), batch.ledger.get(client.clientNumber) ?? [], snapshot, usersByEmail(snapshot), heldByOthers);
  },
  };
}

export function clientOnlineAdapter(deps: ReconcileActivityDeps): ReconcileAdapter<ClientOnlineSnapshot> {
  const { db } = deps;
  return {
  async read(counter) {
    const clients = await deps.clientOnline.withCallCounter(counter).listClients();
    // The logins by username, for the syncs that meet a person for the first time (src/sync/login-refs.ts).
    await replaceDirectory(db, clients);
    return { clientsByNumber: new Map(clients.map((c) => [c.clientNumber, c])) };
  },
  drift({ client, contacts }, batch, snapshot, masters) {
    const desired = desiredClientOnlineState(client, contacts, masters, {
      sendBsn: deps.sendBsn,
      loginRefs: batch.loginRefs,
      keptUsers: batch.kept.get(client.clientNumber),
    });
    const sent = (batch.ledger.get(client.clientNumber) ?? []).some((i) => i.recordType === 'client');
    return clientOnlineDrift(desired, sent, snapshot, batch.refused.has(client.clientNumber));
  },
  concerns({ client }, batch) {
    return client.links.clientOnline || (batch.ledger.get(client.clientNumber) ?? []).length > 0;
  },
  orphans: (snapshot, known) => clientOnlineOrphans(snapshot, known),
  outlook({ client, contacts }, batch, snapshot, masters, run) {
    const desired = desiredClientOnlineState(client, contacts, masters, {
      sendBsn: deps.sendBsn,
      loginRefs: batch.loginRefs,
      keptUsers: batch.kept.get(client.clientNumber),
    });
    const sent = (batch.ledger.get(client.clientNumber) ?? []).some((identity) => identity.recordType === 'client' && identity.sent);
    return clientOnlineOutlook(desired, sent, batch.met, snapshot, loginsByRef(snapshot), run.claimed);
  },
  };
}

/** How each portal takes part in the reconcile. */
export function reconcileAdapters(deps: ReconcileActivityDeps): Record<ReconcilePortal, ReconcileAdapter<unknown>> {
  return { caseware: caseWareAdapter(deps), clientOnline: clientOnlineAdapter(deps) };
}
