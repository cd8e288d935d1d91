// The console's shell: sign-in, navigation, and which page the URL's fragment asks for.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { CallerContext, rolesText } from './lib/access.js';
import { consoleConfig, session, signedOutEvent } from './lib/api.js';
import { html } from './lib/html.js';
import { href, useRoute } from './lib/router.js';
import { Loading, Problem } from './lib/ui.js';
import { AuditPage } from './pages/audit.js';
import { ClientPage } from './pages/client.js';
import { ErrorsPage } from './pages/errors.js';
import { FileRequestsPage } from './pages/file-requests.js';
import { HealthPage } from './pages/health.js';
import { NewOffboardingPage, OffboardingListPage, OffboardingPage } from './pages/offboardings.js';
import { ReconcilePage, ReconcileRunPage } from './pages/reconcile.js';
import { TokensPage } from './pages/tokens.js';

// The pages, and the roles of which a token needs one to be offered a page (none: every token).
// The API decides what a token may do; this only leaves out pages it would refuse.
const navigation = [
  ['', 'Portal health'],
  ['errors', 'Sync errors'],
  ['clients', 'Clients'],
  ['offboardings', 'Offboardings'],
  ['reconcile', 'Reconcile'],
  ['file-requests', 'File requests'],
  ['audit', 'Audit', ['operator', 'admin']],
  ['tokens', 'Tokens', ['admin']],
];

const pagesFor = (config) => navigation.filter(([, , roles]) => !roles || roles.some((role) => config?.token.roles.includes(role)));

function SignIn({ onSignedIn, reason }) {
  const [error, setError] = useState(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    const token = String(new FormData(event.currentTarget).get('token') ?? '').trim();
    setBusy(true);
    setError(undefined);
    try {
      const config = await consoleConfig(token);
      session.signIn(token);
      onSignedIn(config);
    } catch (failure) {
      setError(failure.status === 401 ? { message: 'This token was not accepted. Check that you copied all of it.' } : failure);
      setBusy(false);
    }
  };
  return html`<main class="sign-in">
    <form class="card" onSubmit=${submit}>
      <h1>portal-sync console</h1>
      <p>Keeps the client registry in step with CaseWare Cloud and Client Online. Sign in with the API token to see sync errors, client status, offboardings and the reconcile.</p>
      ${reason ? html`<p class="notice notice-warn">${reason}</p>` : null}
      <label class="field">API token
        <input name="token" type="password" autocomplete="current-password" required autofocus />
        <span class="hint">The token is in <code>api-token</code> in the server's DATA_DIR (the path <code>npm start</code> prints; default <code>.data/api-token</code>), or its API_TOKEN setting. It is kept in this browser tab only, until you sign out or close the tab.</span>
      </label>
      <button type="submit" disabled=${busy}>Sign in</button>
      <${Problem} error=${error} title="Not signed in" />
    </form>
  </main>`;
}

function Page({ route, config }) {
  const [first, second] = route.segments;
  switch (first) {
    case undefined:
      return html`<${HealthPage} />`;
    case 'errors':
      return html`<${ErrorsPage} route=${route} />`;
    case 'clients':
      return html`<${ClientPage} route=${route} config=${config} />`;
    case 'offboardings':
      if (second === 'new') return html`<${NewOffboardingPage} key=${window.location.hash} route=${route} />`;
      if (second) return html`<${OffboardingPage} key=${second} route=${route} config=${config} />`;
      return html`<${OffboardingListPage} />`;
    case 'reconcile':
      if (second === 'runs' && route.segments[2]) return html`<${ReconcileRunPage} key=${route.segments[2]} route=${route} config=${config} />`;
      return html`<${ReconcilePage} />`;
    case 'file-requests':
      return html`<${FileRequestsPage} route=${route} config=${config} />`;
    case 'audit':
      return html`<${AuditPage} route=${route} />`;
    case 'tokens':
      return html`<${TokensPage} route=${route} />`;
    default:
      return html`<p>There is no such page. <a href=${href()}>Go to portal health</a>.</p>`;
  }
}

function Console() {
  const route = useRoute();
  const [config, setConfig] = useState(undefined);
  const [signedIn, setSignedIn] = useState(Boolean(session.token()));
  const [reason, setReason] = useState(undefined);
  const [error, setError] = useState(undefined);

  useEffect(() => {
    const signedOut = () => {
      session.signOut();
      setSignedIn(false);
      setConfig(undefined);
      setReason('The API no longer accepts the token you signed in with. Sign in again.');
    };
    window.addEventListener(signedOutEvent, signedOut);
    return () => window.removeEventListener(signedOutEvent, signedOut);
  }, []);

  // A tab reloaded while signed in: fetch the settings with the kept token.
  useEffect(() => {
    if (signedIn && !config) consoleConfig().then(setConfig, setError);
  }, [signedIn, config]);

  useEffect(() => {
    const title = navigation.find(([key]) => key === (route.segments[0] ?? ''))?.[1];
    document.title = title ? `${title} · portal-sync console` : 'portal-sync console';
  }, [route]);

  if (!signedIn) {
    return html`<${SignIn} reason=${reason} onSignedIn=${(next) => { setConfig(next); setReason(undefined); setSignedIn(true); }} />`;
  }
  const signOut = () => {
    session.signOut();
    setSignedIn(false);
    setConfig(undefined);
    setReason(undefined);
  };
  const current = route.segments[0] ?? '';
  return html`
    <header class="top">
      <a class="brand" href=${href()}>portal-sync <span>console</span></a>
      <nav aria-label="Pages">
        ${pagesFor(config).map(([key, label]) => html`<a href=${key ? href(key) : href()} aria-current=${current === key ? 'page' : undefined}>${label}</a>`)}
      </nav>
      ${config
        ? html`<span class="signed-in-as" title="The token this tab is signed in with, and its role: the console offers only what the role may do">Signed in as <strong>${config.token.name}</strong> (${rolesText(config.token.roles)})</span>`
        : null}
      <button type="button" class="sign-out" onClick=${signOut}>Sign out</button>
    </header>
    <main class="content">
      ${config ? html`<${CallerContext.Provider} value=${config.token}><${Page} route=${route} config=${config} /><//>` : error ? html`<${Problem} error=${error} title="Could not load the console" />` : html`<${Loading} />`}
    </main>
  `;
}

render(html`<${Console} />`, document.getElementById('console'));
