import { afterAll, beforeAll, expect, test } from 'vitest';
import { lockWaitMs, writeAttempts } from '../../src/registry/write-transaction';
import { createCompany, createContactAt, newestOutboxId, outboxEventsAfter, startApi, type ApiHarness } from './harness';

// A registry write that PostgreSQL rolls back for a deadlock is run again inside the service; one
// that meets it on every attempt is answered 409 with a message to try again, never 5xx. The
// deadlocks are PostgreSQL's own errors, raised by a trigger on the contact's update a chosen
// number of times (a sequence counts the attempts: it is not rolled back with them).

let api: ApiHarness;
let contact: number;

beforeAll(async () => {
  api = await startApi();
  await createCompany(api, '8901');
  contact = await createContactAt(api, '8901', { firstName: 'Botsing', links: { caseware: true } });
  await api.db.raw(`
    create sequence update_attempts;
    create table deadlocks_to_raise (contact_id bigint primary key, times int not null);
    create function raise_deadlock() returns trigger language plpgsql as $$
    begin
      if nextval('update_attempts') <= coalesce((select times from deadlocks_to_raise where contact_id = new.id), 0) then
        raise exception 'deadlock detected (raised by the test)' using errcode = '40P01';
      end if;
      return new;
    end $$;
    create trigger contacts_deadlock before update on contacts for each row execute function raise_deadlock();
  `);
});
afterAll(async () => {
  await api?.close();
});

/** The next `times` updates of the contact fail with a deadlock; answers a function giving the attempts made since. */
async function deadlockNext(times: number): Promise<() => Promise<number>> {
  await api.db.raw('alter sequence update_attempts restart with 1');
  await api.db('deadlocks_to_raise').insert({ contact_id: contact, times }).onConflict('contact_id').merge();
  return async () => {
    const { rows } = await api.db.raw<{ rows: { last_value: string; is_called: boolean }[] }>('select last_value, is_called from update_attempts');
    return rows[0]!.is_called ? Number(rows[0]!.last_value) : 0;
  };
}

test('a write rolled back for a deadlock is run again and answered 200, stored once with one outbox event', async () => {
  const attempts = await deadlockNext(2);
  const before = await newestOutboxId(api.db);
  const response = await api.call('PUT', `/contacts/${contact}/links`, { caseware: false });
  expect(response.statusCode, response.body).toBe(200);
  expect(await attempts()).toBe(3);
  expect(response.json().links.caseware).toBe(false);
  expect((await outboxEventsAfter(api.db, before)).map((e) => [e.kind, e.record_id])).toEqual([['contact.links-changed', contact]]);
});

test(`a write that meets a deadlock on all ${writeAttempts} attempts is answered 409 "try again", and nothing is stored`, async () => {
  const attempts = await deadlockNext(writeAttempts);
  const before = await newestOutboxId(api.db);
  const response = await api.call('PATCH', `/contacts/${contact}`, { phone: '030-1234567' });
  expect(response.statusCode, response.body).toBe(409);
  expect(response.json()).toEqual({
    error: {
      code: 'conflict',
      message: `other requests were changing contact ${contact} at the same time; this request met them on ${writeAttempts} attempts in a row and changed nothing. Try again.`,
    },
  });
  expect(await attempts()).toBe(writeAttempts);
  expect((await api.call('GET', `/contacts/${contact}`)).json().phone).toBeNull();
  expect(await outboxEventsAfter(api.db, before)).toEqual([]);

  // The next attempt, once the others are gone, goes through.
  await deadlockNext(0);
  expect((await api.call('PATCH', `/contacts/${contact}`, { phone: '030-1234567' })).statusCode).toBe(200);
});

test(`a write that waits more than ${lockWaitMs / 1000} s for a row another transaction holds is answered 409 "try again", not a server fault`, async () => {
  await deadlockNext(0);
  const before = await newestOutboxId(api.db);
  // Another session holds the contact's row (a bulk script, a stuck session) and does not let go.
  const holder = await api.db.transaction();
  try {
    await holder('contacts').where({ id: contact }).forUpdate().select('id');
    const response = await api.call('PATCH', `/contacts/${contact}`, { phone: '040-7654321' });
    expect(response.statusCode, response.body).toBe(409);
    expect(response.json()).toEqual({
      error: { code: 'conflict', message: `another transaction held contact ${contact} for more than ${lockWaitMs / 1000} s; this request changed nothing. Try again.` },
    });
  } finally {
    await holder.rollback();
  }
  expect(await outboxEventsAfter(api.db, before)).toEqual([]);
  expect((await api.call('PATCH', `/contacts/${contact}`, { phone: '040-7654321' })).statusCode).toBe(200);
}, 30_000);
