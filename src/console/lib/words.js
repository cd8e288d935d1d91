// The words the console shows for the API's codes: the firm's terms, in plain language.

/** The API's messages start in lower case, to be quoted inside sentences; alone they start a sentence. */
export function sentence(text) {
  return text ? text.charAt(0).toUpperCase() + text.slice(1) : text;
}

/** "1 mail", "2 mails": a number with its noun. */
export function counted(n, singular, plural = `${singular}s`) {
  return `${n} ${n === 1 ? singular : plural}`;
}

/** "see GET /sync/health" → "see the Portal health page", "in …" → "on …", bare: the page alone. */
const onPage = (page) => (_, prefix) => `${prefix === 'in ' ? 'on ' : prefix ?? ''}${page}`;

/** How the console names what the API's messages call by route, field or code. */
const apiReferences = [
  // "offboarding 7 (GET /offboardings/7)": the offboarding is named already.
  [/(offboarding (\d+)) \(GET \/offboardings\/\2\)/g, (_, named) => named],
  [/\(GET \/offboardings\/(\d+) says why\)/g, (_, id) => `(the page of offboarding ${id} says why)`],
  [/\(see GET \/file-requests\/recipients\?clientNumber=([A-Za-z0-9-]+)\)/g, (_, number) => `(see the contacts shown for client ${number})`],
  [/\b(see |in )?GET \/sync\/errors[^\s);,]*/g, onPage('the Sync errors page')],
  [/\b(see |in )?GET \/sync\/clients\/([A-Za-z0-9-]+)(?![\w/-])/g, (_, prefix, number) => `${prefix === 'in ' ? 'on ' : prefix ?? ''}the client page of ${number}`],
  [/\b(see |in )?GET \/sync\/health\b/g, onPage('the Portal health page')],
  [/\b(see )?GET \/offboardings\/(\d+)/g, (_, prefix, id) => `${prefix ?? ''}offboarding ${id}`],
  [/POST \/offboardings/g, () => 'an offboarding'],
  [/\bmake one with portal-sync tokens create[^.;)]*/g, () => 'an admin makes one on the Tokens page'],
  [/\((?:or )?(?:pass |with )?\??force=true\)/g, () => '(or force it)'],
  [/(?:pass |with )?\??force=true/g, () => 'force it'],
  [/(?:send |name contacts with |with )?"grantAnswerRole": true/gi, () => 'tick "Give the answering role"'],
  [/\bdueDate\b/g, () => 'the due date'],
  [/\bcontactIds\b/g, () => 'the contacts'],
  [/\bawaiting-approval\b/g, () => 'waiting for approval'],
];

/** An API message in the page's words: no backticks, routes and codes named as the pages name them, a sentence. */
export function pageWords(message) {
  if (!message) return message;
  let text = String(message).replace(/`([^`]*)`/g, '$1');
  for (const [pattern, words] of apiReferences) text = text.replace(pattern, words);
  text = text.replace(/"([a-z]+(?:-[a-z]+)+)"/g, (quoted, code) => {
    const kind = offboardingKinds[code];
    return kind ? `“${kind.label}”` : quoted;
  });
  text = text.replace(/"([^"\n]+)"/g, '“$1”');
  text = sentence(text.trim());
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** A field an API issue names (`body.dueDate`), as a label: "Due date". */
export function fieldLabel(path, labels = {}) {
  const field = String(path).replace(/^(body|query|params|querystring)\.?/, '');
  if (labels[field]) return labels[field];
  if (field === '') return 'The request';
  // One entry of a list the form has one field for: "companies.1" is the second in "Companies the person leaves".
  const [, list, index] = /^([^.]+)\.(\d+)$/.exec(field) ?? [];
  if (list && labels[list]) return `${labels[list]}, entry ${Number(index) + 1}`;
  const words = field.replace(/\.(\d+)/g, ' $1').replace(/\./g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  return sentence(words);
}

export const portalNames = { caseware: 'CaseWare Cloud', clientOnline: 'Client Online' };
export const portalKeys = ['caseware', 'clientOnline'];

export const syncStates = {
  'in-sync': { label: 'Up to date', tone: 'good', explain: 'The portal holds every change made so far.' },
  pending: { label: 'Changes on their way', tone: 'busy', explain: 'A change has not reached the portal yet; this usually takes seconds.' },
  held: { label: 'Held', tone: 'warn', explain: 'An operator holds this portal: nothing is written to it, and the changes wait until it is released (Portal health).' },
  error: { label: 'Has sync errors', tone: 'bad', explain: 'The portal refused a record; see the errors below for what to do.' },
  'not-linked': { label: 'Not linked', tone: 'quiet', explain: 'This client is not sent to the portal (its link is off, or the portal does not take this kind of client).' },
};

export const errorCodes = {
  'missing-email': 'No email address',
  'shared-email': 'Email address shared with another record',
  'email-removed': 'Email address removed in the registry',
  'field-too-long': 'A name or email is too long for the portal',
  'email-in-use': 'Email address belongs to a CaseWare staff user',
  'no-client-user': 'Nobody can log in to this client',
  'client-online-username-taken': 'Email address is already another login',
};

export function errorTitle(code) {
  return errorCodes[code] ?? code;
}

/** Why a portal cannot be used at all (a portal-level failure's code, src/portals/http-errors.ts). */
export const portalFailureCodes = {
  unauthorized: 'The portal refused our login or permission',
  'bad-response': 'The portal gave an answer the sync cannot read',
  server: 'The portal had an error of its own',
  timeout: 'The portal did not answer in time',
  network: 'The portal could not be reached',
  'rate-limited': 'The portal asked us to slow down',
  invalid: 'The portal refused the request',
  'not-found': 'The portal did not find what was asked for',
};

/** A portal-level failure in words: what it means, then the portal's own message. */
export function portalFailureText({ code, message }) {
  const meaning = portalFailureCodes[code];
  if (!meaning) return pageWords(message || code);
  return message ? `${meaning}. ${pageWords(message)}` : `${meaning}.`;
}

export const recordTypes = { client: 'Client', contact: 'Contact' };

export function recordName(recordType, recordId) {
  return `${recordTypes[recordType] ?? recordType} ${recordId}`;
}

export const accessStates = { active: 'Has access', revoked: 'Access removed' };

export const eventKinds = {
  'client.created': 'Client registered',
  'client.updated': 'Client changed',
  'client.links-changed': 'Client links switched',
  'contact.created': 'Contact added',
  'contact.updated': 'Contact changed',
  'contact.links-changed': 'Contact links switched',
  'contact.deleted': 'Contact deleted',
  'contact.master-changed': 'Master link changed',
  'contact.master-login-changed': "Master's login details changed",
  'master.updated': "Master's private data changed",
  'client.resync': 'Send everything again (resync)',
  'client.reconcile': 'Repair after the reconcile',
  'portal.released': 'A held portal was released',
  'credentials-mails.approved': 'Held new logins approved',
};

export const offboardingKinds = {
  'revoke-contact-access': {
    label: 'A contact loses access to its company',
    explain: 'One contact may no longer see its company in the portals. The person keeps every other access.',
  },
  'person-leaves': {
    label: 'A person leaves companies and stops as a client',
    explain: 'A person client stops being a client of the firm and leaves the companies where he or she is a contact.',
  },
  'person-deceased': {
    label: 'A person has died',
    explain: 'Every access of the person ends, on both portals, at every company.',
  },
  'client-leaves': {
    label: 'A company stops as a client',
    explain: 'Its contacts lose access to it. A person who is also a contact there keeps his or her own client and other companies.',
  },
};

export const offboardingStatuses = {
  running: { label: 'Running', tone: 'busy' },
  'awaiting-approval': { label: 'Waiting for approval', tone: 'warn' },
  completed: { label: 'Completed', tone: 'good' },
  failed: { label: 'Failed', tone: 'bad' },
  cancelled: { label: 'Cancelled', tone: 'quiet' },
};

export const stepActions = {
  'contact-links-off': "Switch off the contact's portal links",
  'client-former': 'Make the client a former client',
  'end-master-link': 'End the master link',
};

export const stepStatuses = {
  pending: { label: 'Not started', tone: 'quiet' },
  applying: { label: 'Changing the registry', tone: 'busy' },
  'waiting-for-portals': { label: 'Waiting for the portals', tone: 'busy' },
  done: { label: 'Done', tone: 'good' },
  'not-run': { label: 'Not run', tone: 'quiet' },
};

export const reconcileStatuses = {
  running: { label: 'Running', tone: 'busy' },
  completed: { label: 'Completed', tone: 'good' },
  failed: { label: 'Failed', tone: 'bad' },
};

export const repairStatuses = {
  pending: { label: 'Repair under way', tone: 'busy' },
  repaired: { label: 'Repaired', tone: 'good' },
  'no-change': { label: 'Already fixed by a change', tone: 'good' },
  failed: { label: 'Not repaired: see the sync errors', tone: 'bad' },
  'dry-run': { label: 'Found (compare only, not repaired)', tone: 'warn' },
};

const driftIssues = {
  missing: 'is missing in the portal',
  fields: 'differs in the portal',
  inactive: 'was deactivated in the portal',
  active: 'is active in the portal but should not be',
  'share-missing': 'has lost its access to the client',
  'share-extra': 'has access it should not have',
  'group-missing': 'is not in the contact group',
  extra: 'is in the portal but should not be',
};

export function driftText({ recordType, recordId, issue, fields }) {
  const what = `${recordName(recordType, recordId)} ${driftIssues[issue] ?? issue}`;
  return fields?.length ? `${what}: ${fields.join(', ')}` : what;
}

export const triggers = { schedule: 'Hourly schedule', api: 'Asked for (run now)' };
