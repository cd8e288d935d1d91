import type { Db } from '../db';
import { createClient } from '../registry/clients';
import { createContact } from '../registry/contacts';
import { setContactMaster } from '../registry/masters';

/**
 * A few invented clients for a first local run, chosen to show the rules: a linked company with two
 * contacts, a contact without email and two sharing one (CaseWare sync errors), a person client and
 * a suspect (never sent to CaseWare), and a person who is also the director of company 1001 with
 * one Client Online login for both.
 */
export async function loadDemoClients(db: Db): Promise<boolean> {
  const existing = await db('clients').count<{ count: string }[]>({ count: '*' });
  if (Number(existing[0]?.count ?? 0) > 0) return false;

  await createClient(db, {
    clientNumber: '1001', kind: 'company', status: 'client', name: 'Bakkerij Voorbeeld B.V.',
    address: 'Dorpsstraat 1', postcode: '1234 AB', city: 'Utrecht', country: 'NL', phone: '030-0000001',
    email: 'info@bakkerij.example', website: 'https://bakkerij.example', links: { caseware: true, clientOnline: true },
  });
  const anna = await createContact(db, '1001', {
    firstName: 'Anna', lastName: 'Jansen', initials: 'A.', email: 'anna@bakkerij.example', phone: '030-0000002',
    links: { caseware: true, clientOnline: true },
  });
  await createContact(db, '1001', {
    firstName: 'Bram', infix: 'de', lastName: 'Boer', initials: 'B.', email: 'bram@bakkerij.example',
    links: { caseware: true, clientOnline: false },
  });

  await createClient(db, {
    clientNumber: '1002', kind: 'company', status: 'client', name: 'Fietsenmaker Test V.O.F.', city: 'Zwolle', country: 'NL',
    email: 'info@fietsen.example', links: { caseware: true, clientOnline: false },
  });
  await createContact(db, '1002', {
    firstName: 'Chris', lastName: 'Visser', email: 'info@fietsen.example', links: { caseware: true, clientOnline: false },
  });
  await createContact(db, '1002', {
    firstName: 'Dirk', lastName: 'Visser', email: 'info@fietsen.example', links: { caseware: true, clientOnline: false },
  });
  await createContact(db, '1002', { firstName: 'Eva', lastName: 'Smit', links: { caseware: true, clientOnline: false } });

  await createClient(db, {
    clientNumber: '1003', kind: 'person', status: 'client', name: 'F. Mulder', firstName: 'Frank', lastName: 'Mulder',
    links: { caseware: true, clientOnline: false },
  });
  await createClient(db, {
    clientNumber: '1004', kind: 'company', status: 'suspect', name: 'Prospect Holding B.V.', links: { caseware: true, clientOnline: false },
  });
  // Anna is also a private client of the firm: her contact at 1001 follows her person client, so
  // Client Online gives her one login that sees 1005 and 1001.
  await createClient(db, {
    clientNumber: '1005', kind: 'person', status: 'client', name: 'A. Jansen', firstName: 'Anna', lastName: 'Jansen',
    initials: 'A.', privateEmail: 'anna@thuis.example', correspondenceEmailPreference: 'private', links: { caseware: false, clientOnline: true },
  });
  await setContactMaster(db, anna.id, { clientNumber: '1005' });
  return true;
}
