import { describe, expect, test } from 'vitest';
import { accessesEnded, offboardingPlan, OffboardingRequestError, stepsFor, type OffboardingRequest, type RegistrySlice } from '../../src/domain/offboarding';
import { aClient, aContact } from '../support/registry-fixtures';

// Seed article 004's situation: persons P and Q, each a person client and a linked contact (a
// follower) at companies A and B, every switch on.
const P = aClient({ id: 1, clientNumber: '2001', kind: 'person', name: 'P', email: 'p@home.test' });
const Q = aClient({ id: 2, clientNumber: '2002', kind: 'person', name: 'Q', email: 'q@home.test' });
const A = aClient({ id: 10, clientNumber: '1001' });
const B = aClient({ id: 11, clientNumber: '1002' });
const at = (company: typeof A, id: number, master: typeof P) =>
  aContact({ id, clientId: company.id, clientNumber: company.clientNumber, masterClientId: master.id });
const pA = at(A, 21, P);
const qA = at(A, 22, Q);
const pB = at(B, 23, P);
const qB = at(B, 24, Q);
const slice: RegistrySlice = { clients: [P, Q, A, B], contacts: [pA, qA, pB, qB] };

const actions = (request: OffboardingRequest) =>
  offboardingPlan(slice, request).steps.map((s) => `${s.action} ${'contactId' in s ? `contact ${s.contactId}` : `client ${s.clientNumber}`}`);

describe('the bottom-up plan for each kind', () => {
  test('revoke-contact-access: one contact loses one company, the person keeps everything else', () => {
    const plan = offboardingPlan(slice, { kind: 'revoke-contact-access', contactId: qB.id });
    expect(plan.steps).toHaveLength(1);
    expect(plan.steps[0]).toMatchObject({
      action: 'contact-links-off',
      contactId: 24,
      clientNumber: '1002',
      portals: ['caseware', 'clientOnline'],
      effects: {
        caseware: ['contact 24 loses access to client 1002; its CaseWare user is deactivated'],
        clientOnline: ['login p-2 loses client 1002; keeps client 1001, client 2002'],
      },
    });
    expect(plan.removes).toEqual({ contactAccess: 1, logins: 0, accessEnded: { caseware: 1, clientOnline: 1 } });
  });

  test('revoke-contact-access on one portal only leaves the other alone', () => {
    const plan = offboardingPlan(slice, { kind: 'revoke-contact-access', contactId: qB.id, portals: ['clientOnline'] });
    expect(plan.steps[0]).toMatchObject({ portals: ['clientOnline'], effects: { caseware: ['no change'] } });
  });

  test('person-leaves: his contacts first, then his person client, then the master links', () => {
    expect(actions({ kind: 'person-leaves', clientNumber: '2002' })).toEqual([
      'contact-links-off contact 22',
      'contact-links-off contact 24',
      'client-former client 2002',
      'end-master-link contact 22',
      'end-master-link contact 24',
    ]);
    const plan = offboardingPlan(slice, { kind: 'person-leaves', clientNumber: '2002' });
    expect(plan.steps[2]?.effects.clientOnline).toEqual(['client 2002 is deleted from Client Online', 'login p-2 loses client 2002 and is deleted']);
    // Q's login loses 1001, 1002 and his own 2002: three Client Online accesses, one login deleted.
    expect(plan.removes).toEqual({ contactAccess: 2, logins: 1, accessEnded: { caseware: 2, clientOnline: 3 } });
    expect(plan.clientNumbers).toEqual(['1001', '1002', '2002']);
    expect(plan.contactIds).toEqual([22, 24]);
  });

  test('person-leaves some companies: he keeps his login for the others', () => {
    expect(actions({ kind: 'person-leaves', clientNumber: '2002', companies: ['1002'] })).toEqual([
      'contact-links-off contact 24',
      'client-former client 2002',
      'end-master-link contact 24',
    ]);
    const plan = offboardingPlan(slice, { kind: 'person-leaves', clientNumber: '2002', companies: ['1002'] });
    expect(plan.steps[1]?.effects.clientOnline).toContain('login p-2 loses client 2002; keeps client 1001');
  });

  test('person-deceased: every access of that person ends, nobody else changes', () => {
    const plan = offboardingPlan(slice, { kind: 'person-deceased', clientNumber: '2001' });
    expect(plan.steps.map((s) => s.clientNumber)).toEqual(['1001', '1002', '2001', '1001', '1002']);
    const everything = plan.steps.flatMap((s) => [...s.effects.caseware, ...s.effects.clientOnline]).join('\n');
    expect(everything).not.toMatch(/p-2|contact 22|contact 24|client 2002/);
    expect(plan.removes).toEqual({ contactAccess: 2, logins: 1, accessEnded: { caseware: 2, clientOnline: 3 } });
  });

  test('client-leaves: its contacts lose it, a person keeps his own client and his other company', () => {
    expect(actions({ kind: 'client-leaves', clientNumber: '1001' })).toEqual([
      'contact-links-off contact 21',
      'contact-links-off contact 22',
      'client-former client 1001',
    ]);
    const plan = offboardingPlan(slice, { kind: 'client-leaves', clientNumber: '1001' });
    expect(plan.steps[0]?.effects.clientOnline).toEqual(['login p-1 loses client 1001; keeps client 1002, client 2001']);
    expect(plan.steps[2]?.effects.caseware).toEqual(['client 1001 is no longer sent to CaseWare Cloud']);
  });

  test('no step of any kind shows Client Online a login it does not know', () => {
    const requests: OffboardingRequest[] = [
      { kind: 'revoke-contact-access', contactId: 21 },
      { kind: 'person-leaves', clientNumber: '2001' },
      { kind: 'person-leaves', clientNumber: '2002', companies: ['1001'] },
      { kind: 'person-deceased', clientNumber: '2002' },
      { kind: 'client-leaves', clientNumber: '1002' },
    ];
    for (const request of requests) {
      for (const step of offboardingPlan(slice, request).steps) expect(step.effects.clientOnline.join('\n')).not.toContain('NEW login');
    }
  });
});

describe('what a plan counts against the approval threshold: every access that ends, per portal', () => {
  // Company X with 15 contacts, each a follower of his own person client, linked to Client Online only.
  const X = aClient({ id: 30, clientNumber: '1030', links: { caseware: false, clientOnline: true } });
  const persons = Array.from({ length: 15 }, (_, i) =>
    aClient({ id: 100 + i, clientNumber: String(3000 + i), kind: 'person', name: `P${i}`, email: `p${i}@home.test`, links: { caseware: false, clientOnline: true } }),
  );
  const followers = persons.map((person, i) =>
    aContact({ id: 500 + i, clientId: X.id, clientNumber: X.clientNumber, masterClientId: person.id, links: { caseware: false, clientOnline: true } }),
  );
  const onlineOnly: RegistrySlice = { clients: [X, ...persons], contacts: followers };

  test('client-leaves of a company with 15 Client Online-only followers ends 15 accesses, though no login is deleted', () => {
    const plan = offboardingPlan(onlineOnly, { kind: 'client-leaves', clientNumber: '1030' });
    expect(plan.removes).toEqual({ contactAccess: 0, logins: 0, accessEnded: { caseware: 0, clientOnline: 15 } });
    expect(plan.steps[0]?.removes.accessEnded).toEqual({ caseware: 0, clientOnline: 1 });
    expect(plan.steps[0]?.effects.clientOnline).toEqual(['login p-100 loses client 1030; keeps client 3000']);
  });

  test('a follower losing one company at Client Online is one access ended', () => {
    const plan = offboardingPlan(onlineOnly, { kind: 'revoke-contact-access', contactId: 500, portals: ['clientOnline'] });
    expect(plan.removes).toEqual({ contactAccess: 0, logins: 0, accessEnded: { caseware: 0, clientOnline: 1 } });
  });

  test('the sum over both portals is what the threshold measures', () => {
    const plan = offboardingPlan(slice, { kind: 'client-leaves', clientNumber: '1001' });
    // P and Q each lose A at CaseWare (their contacts) and at Client Online (their logins).
    expect(plan.removes.accessEnded).toEqual({ caseware: 2, clientOnline: 2 });
    expect(accessesEnded(plan.removes)).toBe(4);
  });
});

describe('requests that do not fit the registry are refused, naming the record', () => {
  const refusal = (request: OffboardingRequest) => {
    try {
      offboardingPlan(slice, request);
    } catch (error) {
      if (error instanceof OffboardingRequestError) return { code: error.code, message: error.message };
      throw error;
    }
    throw new Error('no refusal');
  };

  test.each([
    [{ kind: 'revoke-contact-access', contactId: 999 }, 'not-found', 'contact 999'],
    [{ kind: 'person-leaves', clientNumber: '9999' }, 'not-found', 'client 9999'],
    [{ kind: 'person-leaves', clientNumber: '1001' }, 'rule', 'client 1001 is a company'],
    [{ kind: 'person-deceased', clientNumber: '1002' }, 'rule', 'client 1002 is a company'],
    [{ kind: 'client-leaves', clientNumber: '2001' }, 'rule', 'client 2001 is a person client'],
    [{ kind: 'person-leaves', clientNumber: '2001', companies: ['1001', '2002'] }, 'rule', 'no contact at client 2002'],
  ] as const)('%j', (request, code, message) => {
    const answer = refusal(request);
    expect(answer.code).toBe(code);
    expect(answer.message).toContain(message);
  });

  test('a contact without any link has no access to end', () => {
    const unlinked = { ...qB, links: { caseware: false, clientOnline: false } };
    expect(() => offboardingPlan({ ...slice, contacts: [pA, qA, pB, unlinked] }, { kind: 'revoke-contact-access', contactId: 24 })).toThrow(
      /not linked/,
    );
  });
});

test('the naive order (master link ended first) would show Client Online a new login; the plan names it', () => {
  const steps = stepsFor(slice, [
    { action: 'end-master-link', contactId: qB.id, clientNumber: '1002' },
    { action: 'contact-links-off', contactId: qB.id, clientNumber: '1002', portals: ['caseware', 'clientOnline'] },
  ]);
  expect(steps[0]?.effects.clientOnline).toEqual([
    'login p-2 loses client 1002; keeps client 1001, client 2002',
    'NEW login c-24 for client 1002: Client Online would mail new credentials',
  ]);
});
