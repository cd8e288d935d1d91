// The API tokens (issue 18): who may use the service, managed by an admin. A new token's secret is
// shown once, on this page, until it is put away: only its hash is kept, so nothing can show it again.
import { useState } from 'preact/hooks';
import { useAccess } from '../lib/access.js';
import { api, query } from '../lib/api.js';
import { formValues } from '../lib/forms.js';
import { html } from '../lib/html.js';
import { useResource } from '../lib/resource.js';
import { go, href } from '../lib/router.js';
import { Badge, Empty, Loading, Notice, PageHeader, Problem, Refreshed, Section, When } from '../lib/ui.js';

const roleWords = {
  viewer: 'reads everything',
  registry: 'also writes clients, contacts, links and master links (the CRM integration)',
  operator: 'also offboards, resyncs, runs the reconcile, holds portals, asks for files',
  admin: 'also makes and revokes tokens, and reads the audit',
};

/** The secret of the token just made: shown here once, never put in a URL or kept in the tab. */
function NewSecret({ made, onDone }) {
  return html`<${Notice} tone="warn">
    <p><strong>Token "${made.name}" made, with the ${made.role} role.</strong> Its secret is shown this once: only a hash of it is kept. Copy it now and hand it to its holder.</p>
    <p class="token-secret"><code>${made.secret}</code></p>
    <p>It is sent as <code>Authorization: Bearer …</code>, used to sign in here, or given to the CLI as <code>API_TOKEN</code>.</p>
    <button type="button" class="secondary" onClick=${onDone}>I have copied it</button>
  <//>`;
}

function MakeToken({ onMade }) {
  const [error, setError] = useState(undefined);
  const [busy, setBusy] = useState(false);
  const admin = useAccess('admin');
  const submit = async (event) => {
    const values = formValues(event);
    const form = event.currentTarget;
    setBusy(true);
    setError(undefined);
    try {
      const made = await api('POST', '/tokens', { name: values.name, role: values.role });
      form.reset();
      onMade(made);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return html`<${Section} title="Make a token" intro="One token per person or system, named for whose it is: offboardings, approvals and the audit show the name.">
    <form class="inline-form" onSubmit=${submit} aria-label="Make a token">
      <label><span>Name</span>
        <input name="name" required pattern="[a-z0-9][a-z0-9._\\-]{0,62}" title="1 to 63 lower-case letters, digits, dots, dashes or underscores" placeholder="e.g. crm, anna" size="20" autocomplete="off" />
      </label>
      <label><span>Role</span>
        <select name="role" required>
          ${Object.entries(roleWords).map(([role, words]) => html`<option value=${role} selected=${role === 'viewer'}>${role}: ${words}</option>`)}
        </select>
      </label>
      <button type="submit" disabled=${busy || !admin.allowed} title=${admin.reason}>Make the token</button>
    </form>
    <${Problem} error=${error} title="No token was made" />
  <//>`;
}

export function TokensPage({ route }) {
  const includeRevoked = route.query.get('includeRevoked') === 'true';
  const list = useResource(() => api('GET', `/tokens${query({ includeRevoked })}`), [includeRevoked]);
  const [made, setMade] = useState(undefined);
  const [error, setError] = useState(undefined);

  const revoke = async (token) => {
    if (!window.confirm(`Revoke token "${token.name}"? The API refuses it from its next request on.`)) return;
    setError(undefined);
    try {
      await api('DELETE', `/tokens/${encodeURIComponent(token.name)}`);
      await list.reload();
    } catch (failure) {
      setError(failure);
    }
  };

  return html`
    <${PageHeader}
      title="Tokens"
      intro="Who may use the service, and with what role. The built-in token (API_TOKEN) is not listed: it has every role. Revoking a token takes effect at its next request."
    >
      <${Refreshed} resource=${list} />
    <//>
    ${made ? html`<${NewSecret} made=${made} onDone=${() => setMade(undefined)} />` : null}
    <${MakeToken} onMade=${(token) => { setMade(token); void list.reload(); }} />
    <${Section} title="The tokens" actions=${html`<label class="checkbox"><input type="checkbox" checked=${includeRevoked} onChange=${(e) => go('tokens', { includeRevoked: e.currentTarget.checked ? 'true' : '' })} /> Also show revoked tokens</label>`}>
      <${Problem} error=${list.error} title="Could not load the tokens" />
      <${Problem} error=${error} title="The token was not revoked" />
      ${!list.data
        ? html`<${Loading} />`
        : list.data.length === 0
          ? html`<${Empty}>No tokens yet, the built-in one aside.<//>`
          : html`<div class="table-wrap"><table class="tokens-table">
              <thead><tr><th>Name</th><th>Role</th><th>Made</th><th>Last used</th><th>State</th><th></th></tr></thead>
              <tbody>${list.data.map((token) => html`<tr key=${`${token.name}-${token.createdAt}`}>
                <td><a href=${href('audit', { token: token.name })} title="What this token did">${token.name}</a></td>
                <td>${token.role}</td>
                <td><${When} at=${token.createdAt} /></td>
                <td><${When} at=${token.lastUsedAt} relativeToo /></td>
                <td>${token.revokedAt ? html`<${Badge}>Revoked<//> <span class="quiet"><${When} at=${token.revokedAt} /></span>` : html`<${Badge} tone="good">In use<//>`}</td>
                <td>${token.revokedAt ? null : html`<button type="button" class="secondary" onClick=${() => void revoke(token)} aria-label=${`Revoke ${token.name}`}>Revoke</button>`}</td>
              </tr>`)}</tbody>
            </table></div>`}
    <//>
  `;
}
