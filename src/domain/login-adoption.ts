import type { ClientOnlineLogin } from './client-online';

/**
 * Going live onto a Client Online that already holds the firm's clients (domain.md, "Going live"):
 * before portal-sync lets Client Online create a login for a person it has never met (and mail
 * credentials), it looks for the login that person already has, by username (the email), first
 * among the users of the client being pushed, then among all logins. A pure function of what the
 * registry says of the persons and what the portal holds; the sync and the go-live preview share it.
 */

/** A login Client Online holds: its ref and its username (lower case). */
export interface ExistingLogin {
  ref: string;
  email: string;
}

export type LoginCorrelation =
  /** The person's existing login: pushed with its ref from now on, never mailed. */
  | { personKey: string; outcome: 'adopt'; ref: string }
  /** No login of the person exists: Client Online will create one and mail credentials. */
  | { personKey: string; outcome: 'create' }
  /** Ambiguous: nothing of this client is touched, and the administrator is told. */
  | { personKey: string; outcome: 'conflict'; code: 'login-ambiguous' | 'login-shared'; message: string };

function who(login: Pick<ClientOnlineLogin, 'recordType' | 'recordId'>): string {
  return login.recordType === 'client' ? `person client ${login.recordId}` : `contact ${login.recordId}`;
}

/**
 * What becomes of each person not met before (`unmet`): `clientUsers` are the users Client Online
 * holds under the client being pushed, `allLogins` those the last bulk read found with the persons'
 * addresses, `claimed` the refs other persons' logins have already (ref → person key).
 *
 * - Two existing logins for one person (its addresses lead to two refs): a conflict.
 * - One existing login for two persons (two of them lead to the same ref, or the ref is another
 *   person's already): a conflict for each.
 * - A login that already carries the person's own key as its ref (made by portal-sync before it
 *   kept count) is that person's.
 */
export function correlateLogins(
  unmet: readonly ClientOnlineLogin[],
  clientUsers: readonly ExistingLogin[],
  allLogins: readonly ExistingLogin[],
  claimed: ReadonlyMap<string, string>,
): LoginCorrelation[] {
  const found = new Map<string, string[]>();
  for (const login of unmet) {
    const matching = (logins: readonly ExistingLogin[]) =>
      [...new Set(logins.filter((existing) => existing.ref === login.personKey || login.emails.includes(existing.email)).map((existing) => existing.ref))];
    const inClient = matching(clientUsers);
    found.set(login.personKey, inClient.length > 0 ? inClient : matching(allLogins));
  }
  // A ref two persons of this push lead to.
  const leadsTo = new Map<string, number>();
  for (const refs of found.values()) if (refs.length === 1) leadsTo.set(refs[0]!, (leadsTo.get(refs[0]!) ?? 0) + 1);

  return unmet.map((login): LoginCorrelation => {
    const refs = found.get(login.personKey) ?? [];
    if (refs.length === 0) return { personKey: login.personKey, outcome: 'create' };
    if (refs.length > 1) {
      return {
        personKey: login.personKey,
        outcome: 'conflict',
        code: 'login-ambiguous',
        message:
          `${who(login)} matches ${refs.length} existing Client Online logins by its email addresses; portal-sync touches neither ` +
          'and mails nobody. Remove or merge the logins in Client Online, or give the person the one address of the login to keep.',
      };
    }
    const ref = refs[0]!;
    const holder = claimed.get(ref);
    if ((holder !== undefined && holder !== login.personKey) || (leadsTo.get(ref) ?? 0) > 1) {
      return {
        personKey: login.personKey,
        outcome: 'conflict',
        code: 'login-shared',
        message:
          `${who(login)} matches an existing Client Online login that ${holder !== undefined && holder !== login.personKey ? 'another registry person already has' : 'another person of this client matches too'}; ` +
          'portal-sync touches neither and mails nobody. Link the records of the same person (master and followers), or give each person an address of its own.',
      };
    }
    return { personKey: login.personKey, outcome: 'adopt', ref };
  });
}
