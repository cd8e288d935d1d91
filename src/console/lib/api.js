// The console calls the same HTTP API that scripts use, with the token the administrator signed
// in with. The token lives in this browser tab's sessionStorage only and travels in the
// Authorization header, never in a URL.

const tokenKey = 'portal-sync.api-token';

export const session = {
  token: () => sessionStorage.getItem(tokenKey),
  signIn: (token) => sessionStorage.setItem(tokenKey, token),
  signOut: () => sessionStorage.removeItem(tokenKey),
};

/** A refusal of the API, with its `{ error: { code, message, issues } }`. */
export class ApiError extends Error {
  constructor(status, body) {
    const error = body?.error ?? {};
    super(error.message ?? `the API answered ${status}`);
    this.status = status;
    this.code = error.code ?? 'unknown';
    this.issues = error.issues ?? [];
  }
}

/** Fired when the API no longer accepts the token: the console shows the sign-in again. */
export const signedOutEvent = 'portal-sync:signed-out';

// The page is served at <api>/console/: the API's routes are one level up. Relative, so that a
// reverse proxy's path prefix is kept.
function apiUrl(path) {
  return new URL(`..${path}`, window.location.href).toString();
}

async function call(url, { method = 'GET', body, token = session.token() } = {}) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch {
    throw new ApiError(0, { error: { code: 'unreachable', message: 'The portal-sync service cannot be reached. Is it running?' } });
  }
  const text = await response.text();
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  // Only a token this tab is signed in with can stop working: a wrong token at sign-in is not kept
  // yet, and its own refusal is the sign-in form's to show.
  if (response.status === 401 && token && token === session.token()) {
    window.dispatchEvent(new CustomEvent(signedOutEvent));
  }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

/** `api('GET', '/sync/errors?portal=caseware')`, `api('POST', '/offboardings', body)`. */
export function api(method, path, body) {
  return call(apiUrl(path), { method, body });
}

/** The console's own settings (where the Temporal Web UI is); also proves a token works. */
export function consoleConfig(token = session.token()) {
  return call(new URL('config', window.location.href).toString(), { token });
}

/** A query string from the filled-in fields only. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '' && value !== false) search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
