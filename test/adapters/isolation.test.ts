import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');
const FRAMEWORKS = /^(ai|langchain|@langchain\/|@openai\/agents|@modelcontextprotocol\/)/;

/** Every module specifier a file imports or re-exports, statically or dynamically. */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) if (m[1]) found.push(m[1]);
  return found;
}

/** The bare packages reachable from an entry file through its relative imports. */
function packagesReachedFrom(entry: string): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const stack = [resolve(src, entry)];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const s of specifiers(file)) {
      if (s.startsWith('.')) stack.push(resolve(dirname(file), s.replace(/\.js$/, '.ts')));
      else packages.add(s);
    }
  }
  return packages;
}

describe('framework isolation', () => {
  it('the main entry reaches no framework: users without one never load it', () => {
    const reached = [...packagesReachedFrom('index.ts')].filter((p) => FRAMEWORKS.test(p));
    expect(reached).toEqual([]);
  });

  it('each adapter entry reaches only its own framework', () => {
    const own: Record<string, RegExp> = {
      'mcp.ts': /^@modelcontextprotocol\//,
      'ai-sdk.ts': /^ai$/,
      'openai-agents.ts': /^@openai\/agents$/,
      'langchain.ts': /^(langchain|@langchain\/core\/)/,
    };
    for (const [entry, allowed] of Object.entries(own)) {
      const reached = [...packagesReachedFrom(entry)];
      expect(
        reached.some((p) => allowed.test(p)),
        entry,
      ).toBe(true);
      expect(
        reached.filter((p) => FRAMEWORKS.test(p) && !allowed.test(p)),
        entry,
      ).toEqual([]);
    }
  });
});
