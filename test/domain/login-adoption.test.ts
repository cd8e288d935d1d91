import { describe, expect, test } from 'vitest';
import type { ClientOnlineLogin } from '../../src/domain/client-online';
import { correlateLogins } from '../../src/domain/login-adoption';

const person = (key: string, ...emails: string[]): ClientOnlineLogin => ({
  personKey: key,
  ref: key,
  recordType: key.startsWith('p-') ? 'client' : 'contact',
  recordId: Number(key.slice(2)),
  emails,
});

describe('correlateLogins: which existing Client Online login a person met for the first time has', () => {
  test("the client's own users first, then every login; by any of the person's addresses", () => {
    const result = correlateLogins(
      [person('c-1', 'piet@alfa.nl'), person('p-2', 'karin@home.test', 'karin@work.test'), person('c-3', 'new@x.test')],
      [{ ref: 'legacy-77', email: 'piet@alfa.nl' }],
      [{ ref: 'legacy-5', email: 'karin@work.test' }],
      new Map(),
    );
    expect(result).toEqual([
      { personKey: 'c-1', outcome: 'adopt', ref: 'legacy-77' },
      { personKey: 'p-2', outcome: 'adopt', ref: 'legacy-5' },
      { personKey: 'c-3', outcome: 'create' },
    ]);
  });

  test("a login among the client's users wins over one elsewhere with another of the person's addresses", () => {
    const [result] = correlateLogins([person('p-2', 'p@home.test', 'p@work.test')], [{ ref: 'in-client', email: 'p@work.test' }], [{ ref: 'elsewhere', email: 'p@home.test' }], new Map());
    expect(result).toEqual({ personKey: 'p-2', outcome: 'adopt', ref: 'in-client' });
  });

  test('a login that already carries the person key as its ref is that person\'s, whatever its username', () => {
    const [result] = correlateLogins([person('c-9', 'changed@x.test')], [], [{ ref: 'c-9', email: 'old@x.test' }], new Map());
    expect(result).toEqual({ personKey: 'c-9', outcome: 'adopt', ref: 'c-9' });
  });

  test('two logins for one person, one login for two persons, a login another person has: conflicts that name record ids only', () => {
    const result = correlateLogins(
      [person('p-2', 'p@home.test', 'p@work.test'), person('c-4', 'same@x.test'), person('c-5', 'same@x.test'), person('c-6', 'taken@x.test')],
      [{ ref: 'a', email: 'p@home.test' }, { ref: 'b', email: 'p@work.test' }],
      [{ ref: 's', email: 'same@x.test' }, { ref: 't', email: 'taken@x.test' }],
      new Map([['t', 'c-99']]),
    );
    expect(result.map((r) => (r.outcome === 'conflict' ? `${r.personKey} ${r.code}` : `${r.personKey} ${r.outcome}`))).toEqual([
      'p-2 login-ambiguous',
      'c-4 login-shared',
      'c-5 login-shared',
      'c-6 login-shared',
    ]);
    for (const r of result) if (r.outcome === 'conflict') expect(r.message).not.toMatch(/@|legacy|\bs\b|\bt\b/);
  });
});
