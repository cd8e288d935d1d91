// Reading docker-compose.yml as `docker compose` does, for the deployment tests: YAML with merge
// keys, then the variables interpolated (https://docs.docker.com/reference/compose-file/interpolation/).

export interface Interpolation {
  value: string;
  /** Variables that were required (`:?`, `?`) and missing. */
  missing: string[];
}

/** Every variable the text refers to (not `$$`, which is a literal dollar). */
export function variablesOf(text: string): Set<string> {
  const names = new Set<string>();
  for (const match of text.matchAll(/\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*))/g)) {
    if (match[1] === '$') continue;
    names.add(match[2] ?? match[3]!);
  }
  return names;
}

/**
 * `${NAME}`, `$NAME`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?message}`, `${NAME?message}`,
 * `${NAME:+replacement}`, `${NAME+replacement}`, defaults that interpolate in turn, and `$$`.
 */
export function interpolate(text: string, env: Record<string, string | undefined>): Interpolation {
  const missing: string[] = [];
  let out = '';
  let at = 0;
  while (at < text.length) {
    const dollar = text.indexOf('$', at);
    if (dollar === -1) {
      out += text.slice(at);
      break;
    }
    out += text.slice(at, dollar);
    const next = text[dollar + 1];
    if (next === '$') {
      out += '$';
      at = dollar + 2;
      continue;
    }
    if (next !== '{') {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(dollar + 1))?.[0];
      if (name === undefined) {
        out += '$';
        at = dollar + 1;
        continue;
      }
      out += env[name] ?? '';
      at = dollar + 1 + name.length;
      continue;
    }
    // Find the closing brace, skipping nested `${...}` in the default.
    let depth = 0;
    let end = dollar + 1;
    for (; end < text.length; end += 1) {
      if (text[end] === '{') depth += 1;
      else if (text[end] === '}') {
        depth -= 1;
        if (depth === 0) break;
      }
    }
    const body = text.slice(dollar + 2, end);
    const parsed = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?+])([\s\S]*))?$/.exec(body);
    if (!parsed) throw new Error(`not a variable: \${${body}}`);
    const [, name, colon, operator, rest = ''] = parsed as unknown as [string, string, string | undefined, string | undefined, string | undefined];
    const value = env[name];
    const unset = colon === ':' ? value === undefined || value === '' : value === undefined;
    const inner = () => {
      const nested = interpolate(rest, env);
      missing.push(...nested.missing);
      return nested.value;
    };
    if (operator === undefined) out += value ?? '';
    else if (operator === '-') out += unset ? inner() : value;
    else if (operator === '?') {
      if (unset) missing.push(name);
      out += value ?? '';
    } else out += unset ? '' : inner();
    at = end + 1;
  }
  return { value: out, missing };
}

/** The variables a `.env` file sets, and those it shows commented out (`# NAME=`). */
export function envFileEntries(text: string): { set: Map<string, string>; documented: Set<string> } {
  const set = new Map<string, string>();
  const documented = new Set<string>();
  for (const line of text.split('\n')) {
    const match = /^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (!match) continue;
    documented.add(match[2]!);
    if (!match[1]) set.set(match[2]!, match[3]!);
  }
  return { set, documented };
}
