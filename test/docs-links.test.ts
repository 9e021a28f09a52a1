/**
 * Every relative link in README.md, docs/*.md and examples' READMEs points at a
 * file or directory that exists, and every `#anchor` at a heading of its page
 * (GitHub's slugs). A moved or renamed document fails here, not for a reader.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { ROOT } from './helpers/paths.js';

/** The Markdown files whose links are checked, relative to the root. */
const PAGES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
  ...readdirSync(join(ROOT, 'examples'), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.md'))
    .map((f) => `examples/${f}`),
];

/** The page's text without fenced code blocks and inline code (their brackets are not links). */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[\s\S]*?^\1/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of markdown.replace(/^(```|~~~)[\s\S]*?^\1/gm, '').split('\n')) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const text = m[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** `[text](target)` and `[text]: target` links of a page. */
function links(markdown: string): string[] {
  const text = prose(markdown);
  const inline = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  const reference = [...text.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/gm)].map((m) => m[1]!);
  return [...inline, ...reference];
}

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target);

describe('relative links in the documentation', () => {
  it('covers the README and every page in docs/', () => {
    expect(PAGES).toContain('README.md');
    expect(PAGES).toContain('docs/AMQP.md');
    expect(PAGES.length).toBeGreaterThan(5);
  });

  it.each(PAGES)('%s: every relative link reaches a file, and every #anchor a heading', (page) => {
    const markdown = readFileSync(join(ROOT, page), 'utf8');
    const broken: string[] = [];
    for (const target of links(markdown)) {
      if (isExternal(target)) continue;
      const [pathPart, anchor] = target.split('#') as [string, string | undefined];
      const file = pathPart === '' ? join(ROOT, page) : join(ROOT, dirname(page), decodeURIComponent(pathPart));
      if (!relative(ROOT, file).startsWith('..') && !existsSync(file)) {
        broken.push(`${target}: no such file`);
        continue;
      }
      if (relative(ROOT, file).startsWith('..')) {
        broken.push(`${target}: outside the repository`);
        continue;
      }
      if (anchor !== undefined && file.endsWith('.md') && !headingAnchors(readFileSync(file, 'utf8')).has(decodeURIComponent(anchor)))
        broken.push(`${target}: no heading for #${anchor}`);
    }
    expect(broken).toEqual([]);
  });
});

describe('headingAnchors', () => {
  it('makes GitHub slugs', () => {
    expect([
      ...headingAnchors(
        '# Protocol (summary)\n## Dead-lettered jobs\n### `consumer_timeout` on RabbitMQ\n## Runtime: Node 20\n## FAQ\n## FAQ',
      ),
    ]).toEqual(['protocol-summary', 'dead-lettered-jobs', 'consumer_timeout-on-rabbitmq', 'runtime-node-20', 'faq', 'faq-1']);
  });
  it('ignores headings inside code blocks', () => {
    expect([...headingAnchors('```bash\n# a comment\n```\n# Real')]).toEqual(['real']);
  });
});
