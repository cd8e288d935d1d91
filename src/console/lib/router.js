// Pages live in the URL's fragment (#/clients/1001), which never leaves the browser. Only record
// ids, client numbers and error codes go there: never names or email addresses.
import { useEffect, useState } from 'preact/hooks';

function currentRoute() {
  const [pathPart = '', queryPart = ''] = window.location.hash.replace(/^#/, '').split('?');
  const segments = pathPart.split('/').filter(Boolean).map(decodeURIComponent);
  return { segments, query: new URLSearchParams(queryPart) };
}

export function useRoute() {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const changed = () => setRoute(currentRoute());
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return route;
}

/** `href('clients', '1001')` → `#/clients/1001`; a last argument of an object adds a query. */
export function href(...parts) {
  const last = parts.at(-1);
  const params = typeof last === 'object' && last !== null ? parts.pop() : undefined;
  const path = `#/${parts.map((part) => encodeURIComponent(String(part))).join('/')}`;
  if (!params) return path;
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '' && value !== false) search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}

export function go(...parts) {
  window.location.hash = href(...parts).slice(1);
}
