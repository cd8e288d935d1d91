import { describe, expect, test } from 'vitest';
import { desiredCaseWareState } from '../../src/domain/caseware';
import { desiredClientOnlineState } from '../../src/domain/client-online';
import type { CaseWareSnapshot, ClientOnlineSnapshot } from '../../src/domain/drift';
import { caseWareOutlook, clientOnlineOutlook, countOutlook } from '../../src/domain/outlook';
import type { CwEntity, CwUser } from '../../src/portals/caseware/api';
import type { CoClient } from '../../src/portals/client-online/api';
import { aClient, aContact } from '../support/registry-fixtures';

// The go-live preview's rules, one portal at a time, without servers: what the next syncs would do.

const entity = (fields: Partial<CwEntity>): CwEntity => ({ CWGuid: 'e-1', Name: 'x', EntityNo: '1001', ...fields }) as CwEntity;
const user = (fields: Partial<CwUser>): CwUser => ({ CWGuid: 'u-1', OwnerType: 'Contact', Type: 'A', Email: 'x@y.test', ...fields }) as CwUser;

function caseWareSnapshot(entities: CwEntity[], users: CwUser[]): CaseWareSnapshot {
  return {
    entitiesByGuid: new Map(entities.map((e) => [e.CWGuid, e])),
    entitiesByNumber: new Map(entities.map((e) => [e.EntityNo, e])),
    usersByGuid: new Map(users.map((u) => [u.CWGuid, u])),
    shares: new Set(),
    roleId: 'role',
    groupMembers: undefined,
  };
}

describe('caseWareOutlook', () => {
  const client = aClient({ links: { caseware: true, clientOnline: false } });
  const linked = { caseware: true, clientOnline: false };
  const contacts = [
    aContact({ id: 1, email: 'anna@x.test', links: linked }),
    aContact({ id: 2, email: 'staff@x.test', links: linked }),
    aContact({ id: 3, email: 'taken@x.test', links: linked }),
    aContact({ id: 4, email: 'new@x.test', links: linked }),
    aContact({ id: 5, email: null, links: linked }),
  ];
  const users = [
    user({ CWGuid: 'u-anna', Email: 'Anna@x.test' }),
    user({ CWGuid: 'u-staff', Email: 'staff@x.test', OwnerType: 'Staff' }),
    user({ CWGuid: 'u-taken', Email: 'taken@x.test' }),
  ];
  const byEmail = new Map(users.map((u) => [u.Email.toLowerCase(), u]));

  test('an entity found by number and contact users found by email are adopted; the rest created, each a mail; conflicts named', () => {
    const items = caseWareOutlook(desiredCaseWareState(client, contacts), [], caseWareSnapshot([entity({ EntityNo: client.clientNumber })], users), byEmail, (_contact, guid) => guid === 'u-taken');
    expect(items.map((i) => `${i.action} ${i.object} ${i.recordType} ${i.recordId}${i.detail ? ` ${i.detail}` : ''}`)).toEqual([
      `adopt entity client ${client.id}`,
      'conflict contact-user contact 5 missing-email',
      'adopt contact-user contact 1',
      'conflict contact-user contact 2 email-in-use',
      'conflict contact-user contact 3 shared-email',
      'create contact-user contact 4',
    ]);
    expect(countOutlook(items)).toEqual({ adopt: 2, create: 1, update: 0, keep: 0, conflicts: 3, credentialsMails: 1 });
  });

  test('what the ledger knows is updated only where the portal differs; a deactivated user is updated too', () => {
    const ledger = [
      { recordType: 'client' as const, recordId: client.id, remoteId: 'e-1', access: 'active' as const },
      { recordType: 'contact' as const, recordId: 1, remoteId: 'u-anna', access: 'active' as const },
    ];
    const desired = desiredCaseWareState(client, [contacts[0]!]);
    const same = entity({ ...desired.entity! });
    const synced = user({ CWGuid: 'u-anna', ...desired.contacts[0]!.fields });
    expect(caseWareOutlook(desired, ledger, caseWareSnapshot([same], [synced]), byEmail, () => false)).toEqual([]);
    const items = caseWareOutlook(desired, ledger, caseWareSnapshot([{ ...same, Name: 'edited by hand' }], [{ ...synced, Type: 'I' }]), byEmail, () => false);
    expect(items.map((i) => `${i.action} ${i.object}`)).toEqual(['update entity', 'update contact-user']);
  });
});

describe('clientOnlineOutlook', () => {
  const company = aClient({ links: { caseware: false, clientOnline: true } });
  const linked = { caseware: false, clientOnline: true };
  const anna = aContact({ id: 1, email: 'anna@x.test', links: linked });
  const nina = aContact({ id: 2, email: 'nina@x.test', links: linked });
  const held = (users: { ref: string; email: string }[]): CoClient =>
    ({ clientNumber: company.clientNumber, name: 'old', kind: 'company', users: users.map((u) => ({ ...u, loginId: u.ref })) }) as unknown as CoClient;

  test("a client the portal holds is adopted on its first push, its users' logins adopted, new ones created with a mail, the rest kept", () => {
    const desired = desiredClientOnlineState(company, [anna, nina], new Map(), { sendBsn: false });
    const snapshot: ClientOnlineSnapshot = { clientsByNumber: new Map([[company.clientNumber, held([{ ref: 'old-1', email: 'anna@x.test' }, { ref: 'old-9', email: 'gone@x.test' }])]]) };
    const logins = new Map([['old-1', { ref: 'old-1', email: 'anna@x.test' }], ['old-9', { ref: 'old-9', email: 'gone@x.test' }]]);
    const items = clientOnlineOutlook(desired, false, new Set(), snapshot, logins, new Map());
    expect(items.map((i) => `${i.action} ${i.object} ${i.recordType} ${i.recordId} ${i.credentialsMails}${i.detail ? ` ${i.detail}` : ''}`)).toEqual([
      `adopt client client ${company.id} 0`,
      'adopt login contact 1 0',
      'create login contact 2 1',
      `keep user client ${company.id} 0 old-9`,
    ]);
  });

  test('an ambiguous login stops the whole client: only the conflict is shown', () => {
    const desired = desiredClientOnlineState(company, [anna], new Map(), { sendBsn: false });
    const logins = new Map([['old-1', { ref: 'old-1', email: 'anna@x.test' }]]);
    const items = clientOnlineOutlook(desired, false, new Set(), { clientsByNumber: new Map() }, logins, new Map([['old-1', 'c-77']]));
    expect(items).toEqual([expect.objectContaining({ action: 'conflict', object: 'login', recordType: 'contact', recordId: 1, detail: 'login-shared' })]);
  });

  test("a person met before whose login the portal no longer holds is created again, with a mail", () => {
    const desired = desiredClientOnlineState(company, [anna], new Map(), { sendBsn: false });
    const items = clientOnlineOutlook(desired, true, new Set(['c-1']), { clientsByNumber: new Map() }, new Map(), new Map());
    expect(items.map((i) => `${i.action} ${i.object} ${i.credentialsMails}`)).toEqual(['create client 0', 'create login 1']);
  });
});
