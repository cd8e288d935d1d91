// Pieces every page uses.
import { html } from './html.js';
import { fieldLabel, pageWords } from './words.js';

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

function ago(date) {
  const seconds = Math.round((date.getTime() - Date.now()) / 1000);
  const steps = [
    [60, 'second'],
    [60, 'minute'],
    [24, 'hour'],
    [Number.POSITIVE_INFINITY, 'day'],
  ];
  let value = seconds;
  for (const [size, unit] of steps) {
    if (Math.abs(value) < size) return relative.format(value, unit);
    value = Math.round(value / size);
  }
  return '';
}

/** A moment, as the reader's local date and time, with how long ago it was. */
export function When({ at, relativeToo = false }) {
  if (!at) return html`<span class="quiet">—</span>`;
  const date = new Date(at);
  return html`<time datetime=${date.toISOString()} title=${date.toISOString()}>${dateTime.format(date)}${relativeToo ? html` <span class="quiet">(${ago(date)})</span>` : ''}</time>`;
}

export function duration(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${ms} ms`;
  const seconds = ms / 1000;
  if (seconds < 90) return `${seconds.toFixed(1)} s`;
  return `${Math.round(seconds / 60)} min`;
}

/** A coloured label: tone is good, bad, warn, busy or quiet. */
export function Badge({ tone = 'quiet', children, title }) {
  return html`<span class="badge badge-${tone}" title=${title}>${children}</span>`;
}

export function StatusBadge({ status, words }) {
  const word = words[status] ?? { label: status, tone: 'quiet' };
  return html`<${Badge} tone=${word.tone}>${word.label}<//>`;
}

export function Loading({ what = 'Loading' }) {
  return html`<p class="loading" role="status">${what}…</p>`;
}

/** What the API refused, in the page's words, with each field it named by the form's label. */
export function Problem({ error, title = 'That did not work', fieldLabels }) {
  if (!error) return null;
  return html`<div class="notice notice-bad" role="alert">
    <strong>${title}.</strong> ${error.issues?.length ? 'Please check these fields:' : pageWords(error.message)}
    ${error.issues?.length
      ? html`<ul>${error.issues.map((issue) => html`<li><strong>${fieldLabel(issue.path, fieldLabels)}</strong>: ${pageWords(issue.message)}</li>`)}</ul>`
      : null}
  </div>`;
}

export function Notice({ tone = 'info', children }) {
  return html`<div class=${`notice notice-${tone}`}>${children}</div>`;
}

export function PageHeader({ title, intro, children }) {
  return html`<header class="page-header">
    <div>
      <h1>${title}</h1>
      ${intro ? html`<p class="intro">${intro}</p>` : null}
    </div>
    ${children ? html`<div class="page-actions">${children}</div>` : null}
  </header>`;
}

export function Section({ title, intro, children, actions }) {
  return html`<section class="card">
    <div class="card-header">
      <h2>${title}</h2>
      ${actions ? html`<div class="card-actions">${actions}</div>` : null}
    </div>
    ${intro ? html`<p class="card-intro">${intro}</p>` : null}
    ${children}
  </section>`;
}

export function Empty({ children }) {
  return html`<p class="empty">${children}</p>`;
}

export function Refreshed({ resource }) {
  return html`<span class="refreshed quiet">
    ${resource.loadedAt ? html`Updated <${When} at=${resource.loadedAt} />` : null}
    <button type="button" class="link-button" onClick=${() => void resource.reload()}>Refresh</button>
  </span>`;
}

/** The Temporal Web UI page of one workflow. */
export function temporalWorkflowUrl(config, workflowId) {
  const { url, namespace } = config.temporalUi;
  return `${url}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** The Temporal Web UI's workflow list, filtered with a list query such as ClientNumber="1001". */
export function temporalSearchUrl(config, listQuery) {
  const { url, namespace } = config.temporalUi;
  return `${url}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encodeURIComponent(listQuery)}`;
}

export function ExternalLink({ href, children, className = '' }) {
  return html`<a class=${`external ${className}`} href=${href} target="_blank" rel="noopener noreferrer">${children}<span class="sr-only"> (opens in a new tab)</span></a>`;
}
