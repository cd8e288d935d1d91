import { expect, test } from 'vitest';
import type { Offboarding } from '../../src/cli/api-client';
import { describeOffboarding, progressLines, type ReportedProgress } from '../../src/cli/offboarding-view';

// `portal-sync offboarding <id>`: why a held plan waits, and a step a portal refused.

const refusal =
  'CaseWare Cloud refused it (caseware-invalid): contact 24 at client 1002: CaseWare Cloud refused PATCH /entities/x/role-assignments (422 invalid). ' +
  'The step waits until a later sync of the client gets the change through';

function anOffboarding(overrides: Partial<Offboarding> = {}): Offboarding {
  const removes = { contactAccess: 1, logins: 0, accessEnded: { caseware: 1, clientOnline: 1 } };
  const planned = {
    step: 1,
    action: 'contact-links-off' as const,
    clientNumber: '1002',
    contactId: 24,
    portals: ['caseware' as const, 'clientOnline' as const],
    summary: 'switch the CaseWare Cloud and Client Online link of contact 24 at client 1002 off',
    effects: { caseware: ['contact 24 loses access to client 1002; its CaseWare user is deactivated'], clientOnline: ['login p-2 loses client 1002; keeps client 2002'] },
    removes,
    awaitClients: ['1002'],
  };
  return {
    id: 7,
    kind: 'revoke-contact-access',
    request: { kind: 'revoke-contact-access', contactId: 24 },
    reason: null,
    requestedBy: 'alice',
    status: 'running',
    workflowId: 'offboard-7',
    approvalRequired: false,
    approvalReason: null,
    approvedBy: null,
    approvedAt: null,
    cancelledBy: null,
    failure: null,
    createdAt: '2026-12-04T10:00:00.000Z',
    updatedAt: '2026-12-04T10:00:00.000Z',
    finishedAt: null,
    plan: { request: { kind: 'revoke-contact-access', contactId: 24 }, steps: [planned], clientNumbers: ['1002'], contactIds: [24], removes },
    steps: [
      {
        ...planned,
        recordType: 'contact',
        recordId: 24,
        status: 'waiting-for-portals',
        changed: { linksOff: ['caseware', 'clientOnline'] },
        refusal,
        startedAt: '2026-12-04T10:00:01.000Z',
        appliedAt: '2026-12-04T10:00:01.000Z',
        completedAt: null,
      },
    ],
    ...overrides,
  };
}

test('a refused step reads "refused, waiting", with what was refused under the steps', () => {
  const lines = describeOffboarding(anOffboarding());
  expect(lines.some((line) => /^ {2}… +1 +contact-links-off +contact 24 +refused, waiting +switch/.test(line))).toBe(true);
  expect(lines).toContain(`  step 1 refused: ${refusal}`);
});

test('a held offboarding says why it waits: the reason the registry gave', () => {
  const reason = 'it ends 6 accesses (CaseWare Cloud 3, Client Online 3); with the 6 ended by offboarding 6, which token "alice" asked for without approval in the last 24 hours, that is 12, more than the approval threshold (10)';
  const lines = describeOffboarding(anOffboarding({ status: 'awaiting-approval', approvalRequired: true, approvalReason: reason }));
  expect(lines.find((line) => line.startsWith('  waiting'))).toContain(`It ends 6 accesses (CaseWare Cloud 3, Client Online 3); with the 6 ended by offboarding 6`);
});

test('following: a step that has not started says nothing; "completed" comes after the last step\'s "done"', () => {
  const base = anOffboarding();
  const step = (n: number, status: Offboarding['steps'][number]['status']) => ({ ...base.steps[0]!, step: n, contactId: 23 + n, status, refusal: null });
  const at = (status: Offboarding['status'], ...states: Offboarding['steps'][number]['status'][]) =>
    anOffboarding({ status, steps: states.map((state, index) => step(index + 1, state)) });
  const reported: ReportedProgress = { status: '', steps: new Map() };
  expect(progressLines(reported, at('running', 'pending', 'pending'))).toEqual(['offboarding 7: running']);
  expect(progressLines(reported, at('running', 'applying', 'pending'))).toEqual(['step 1 of 2, contact-links-off contact 24: applying']);
  expect(progressLines(reported, at('running', 'applying', 'pending'))).toEqual([]);
  expect(progressLines(reported, at('completed', 'done', 'done'))).toEqual([
    'step 1 of 2, contact-links-off contact 24: done',
    'step 2 of 2, contact-links-off contact 25: done',
    'offboarding 7: completed',
  ]);
});
