import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// The documentation is a set of files that link to each other (README.md → docs/… → bench/results/…).
// Every relative link must lead to a file that exists and, with a #fragment, to a heading there, so
// that a reader can walk from the README to every page and moving a section cannot strand a link.

const root = path.resolve(__dirname, '..', '..');

const markdownIn = (folder: string): string[] =>
  existsSync(path.join(root, folder))
    ? readdirSync(path.join(root, folder))
        .filter((name) => name.endsWith('.md'))
        .map((name) => path.join(folder, name))
    : [];

const documents = ['README.md', ...markdownIn('docs'), 'bench/README.md', ...markdownIn('bench/results'), 'chaos/README.md', ...markdownIn('chaos/results')];

/** The text outside code fences and inline code, where a link is a link. */
function prose(markdown: string): string {
  return markdown
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
    .replace(/`[^`\n]*`/g, (code) => ' '.repeat(code.length));
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces become hyphens; repeats get -1, -2. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutFences = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const match of withoutFences.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const text = (match[1] ?? '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

interface Link {
  document: string;
  target: string;
}

function relativeLinks(document: string): Link[] {
  const text = prose(readFileSync(path.join(root, document), 'utf8'));
  const links: Link[] = [];
  for (const match of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const target = match[1] ?? '';
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: and the like
    links.push({ document, target });
  }
  return links;
}

describe('the documentation', () => {
  it('exists where the README says', () => {
    for (const document of ['README.md', 'docs/architecture.md', 'docs/operations.md', 'bench/README.md', 'chaos/README.md']) {
      expect(existsSync(path.join(root, document)), document).toBe(true);
    }
  });

  it('links only to files and headings that exist', () => {
    const broken: string[] = [];
    let checked = 0;
    for (const document of documents) {
      for (const { target } of relativeLinks(document)) {
        checked += 1;
        const [file = '', fragment] = target.split('#', 2);
        const resolved = file === '' ? path.join(root, document) : path.resolve(path.dirname(path.join(root, document)), decodeURI(file));
        if (!existsSync(resolved)) {
          broken.push(`${document}: ${target} (no such file)`);
          continue;
        }
        if (fragment === undefined || fragment === '') continue;
        if (!statSync(resolved).isFile() || !resolved.endsWith('.md')) {
          broken.push(`${document}: ${target} (an anchor into something that is not a markdown file)`);
          continue;
        }
        if (!anchorsOf(readFileSync(resolved, 'utf8')).has(decodeURIComponent(fragment))) {
          broken.push(`${document}: ${target} (no such heading)`);
        }
      }
    }
    expect(broken).toEqual([]);
    expect(checked).toBeGreaterThan(20);
  });

  it('keeps the README short: what it is, the two commands, the guarantees, a map of docs/', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    expect(readme.split('\n').length).toBeLessThanOrEqual(150);
    for (const heading of ['## Two commands', '## What the service guarantees, and how each is tested', '## Documentation']) {
      expect(readme, heading).toContain(heading);
    }
  });
});
