// Who is signed in, and what their token's role lets them do (issue 21). The API decides (routeAccess
// in src/api/auth.ts); the console only offers what it would take: an action the role may not use
// is shown disabled, with a title that names the role it needs, instead of a 403 after the click.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { html } from './html.js';

const everyRole = ['viewer', 'registry', 'operator', 'admin'];

/** The signed-in token, `{ name, roles }`, for every page. */
export const CallerContext = createContext(undefined);

/** "operator"; "every role" for the built-in token. */
export function rolesText(roles) {
  return everyRole.every((role) => roles.includes(role)) ? 'every role' : roles.join(', ');
}

/** As roleGrants in src/api/auth.ts: a role's own actions, and every read. */
function grants(caller, role) {
  return Boolean(caller?.roles.some((held) => held === role || role === 'viewer'));
}

/**
 * Whether the signed-in token may do what needs `role`: `{ allowed, reason }`, the reason (for a
 * disabled button's title) when not.
 */
export function useAccess(role) {
  const caller = useContext(CallerContext);
  const allowed = grants(caller, role);
  return {
    allowed,
    reason: allowed ? undefined : `Needs the ${role} role: token “${caller?.name ?? '?'}” has the ${rolesText(caller?.roles ?? [])} role.`,
  };
}

/** The signed-in token's name, `{ name, roles }`. */
export function useCaller() {
  return useContext(CallerContext);
}

/**
 * A link to an action's form (e.g. "New offboarding…"), or, for a token whose role may not use it,
 * a disabled button in its place with the reason as its title.
 */
export function ActionLink({ role, href, className = 'button', children }) {
  const access = useAccess(role);
  if (access.allowed) return html`<a class=${className || undefined} href=${href}>${children}</a>`;
  // A link styled as a button becomes that button; a plain link, a link-like button.
  const buttonClass = /\bbutton\b/.test(className) ? className.replace(/\bbutton\b/, '').trim() || undefined : 'link-button';
  return html`<button type="button" class=${buttonClass} disabled title=${access.reason}>${children}</button>`;
}
