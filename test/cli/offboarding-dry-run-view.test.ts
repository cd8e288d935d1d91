import { expect, test } from 'vitest';
import type { OffboardingDryRun } from '../../src/cli/api-client';
import { describeDryRun } from '../../src/cli/offboarding-view';

// Issue 21, item 6: the dry run's first line names the clients a plan touches in the right number.

function aDryRun(clientNumbers: string[], steps: number): OffboardingDryRun {
  const removes = { contactAccess: 1, logins: 0, accessEnded: { caseware: 1, clientOnline: 0 } };
  const step = (n: number) => ({
    step: n,
    action: 'contact-links-off' as const,
    clientNumber: clientNumbers[0] ?? '1001',
    contactId: 24,
    portals: ['caseware' as const],
    summary: `switch the CaseWare Cloud link of contact 24 at client ${clientNumbers[0] ?? '1001'} off`,
    effects: { caseware: ['contact 24 loses access to client 1001; its CaseWare user is deactivated'], clientOnline: [] },
    removes,
    awaitClients: clientNumbers,
  });
  const request = { kind: 'revoke-contact-access', contactId: 24 };
  return {
    dryRun: true,
    plan: { request, steps: Array.from({ length: steps }, (_, i) => step(i + 1)), clientNumbers, contactIds: [24], removes },
    alreadyUnderWay: [],
  };
}

test('one client: "(client 1001)", "1 step"; two: "(clients 1001, 1002)", "2 steps"', () => {
  expect(describeDryRun(aDryRun(['1001'], 1), 'add --execute')[0]).toBe(
    'Dry run: revoke-contact-access of contact 24 (client 1001) takes 1 step, in this order. Nothing has been changed.',
  );
  expect(describeDryRun(aDryRun(['1001', '1002'], 2), 'add --execute')[0]).toBe(
    'Dry run: revoke-contact-access of contact 24 (clients 1001, 1002) takes 2 steps, in this order. Nothing has been changed.',
  );
});

test('the dry run says whether carrying it out now would wait for approval, and names an offboarding already holding its records', () => {
  const waits = { ...aDryRun(['1001'], 1), approvalRequired: true, approvalReason: 'its plan ends 12 accesses, more than the approval threshold (10)' };
  expect(describeDryRun(waits, 'add --execute')).toContain(
    "Carried out, it will wait for a second operator's approval before anything changes: its plan ends 12 accesses, more than the approval threshold (10).",
  );
  const starts = { ...aDryRun(['1001'], 1), approvalRequired: false, approvalReason: null, alreadyUnderWay: [{ id: 7, status: 'awaiting-approval' as const }] };
  const lines = describeDryRun(starts, 'add --execute');
  expect(lines).toContain('Carried out now, it starts at once: within the approval threshold.');
  expect(lines).toContain('Offboarding 7 holds these records (awaiting-approval): carrying this one out is refused until it has finished.');
});
