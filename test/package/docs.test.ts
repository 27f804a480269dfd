import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  brokenLinks,
  checkDocs,
  codeBlocks,
  compileBlocks,
  compileUnits,
  documentationFiles,
} from '../../scripts/docs-check.js';

describe('the documentation', () => {
  it('covers README.md and every page under docs/', () => {
    const files = documentationFiles();
    expect(files[0]).toBe('README.md');
    expect(files).toContain('docs/policies.md');
    expect(files).toContain('docs/tools.md');
  });

  it('keeps the README a front door: at most 30 KB', () => {
    expect(statSync('README.md').size).toBeLessThanOrEqual(30 * 1024);
  });

  it('cites no design notes outside the repository, in code, tests or docs', () => {
    const name = ['DESIGN', 'md'].join('.');
    // git grep exits 1 when nothing matches: that is the pass.
    let hits = '';
    try {
      hits = execFileSync('git', ['grep', '-l', '--untracked', name, '--', '.'], { encoding: 'utf8' });
    } catch (err) {
      if ((err as { status?: number }).status !== 1) throw err;
    }
    expect(hits).toBe('');
  });

  it('compiles every TypeScript block of README.md and docs/, and every relative link resolves', () => {
    expect(checkDocs()).toEqual([]);
  }, 180_000);
});

describe('the check itself', () => {
  const page = [
    '# A page',
    '',
    '```ts',
    "import { createPolicy } from 'breakwater';",
    "const policy = createPolicy('idempotent');",
    '```',
    '',
    '```ts continued',
    'const n: number = policy.dependency; // a string: wrong on purpose',
    '```',
    '',
    '```ts fragment',
    'this is not TypeScript',
    '```',
    '',
    '```ts',
    'policy.run(async () => 1); // not in scope: a block stands alone',
    '```',
  ].join('\n');

  it('reports a block that does not compile at its line in the page, and skips fragments', () => {
    const problems = compileBlocks(compileUnits(codeBlocks('docs/page.md', page)));
    expect(problems.map((p) => [p.file, p.line])).toEqual([
      ['docs/page.md', 9],
      ['docs/page.md', 17],
    ]);
    expect(problems[0]?.message).toMatch(/not assignable to type 'number'/);
    expect(problems[1]?.message).toMatch(/Cannot find name 'policy'/);
  }, 120_000);

  it('reports a relative link that does not resolve, and one that leaves the repository', () => {
    const text = [
      'See [policies](docs/policies.md), [a missing page](docs/nowhere.md),',
      '[outside](../elsewhere/README.md), [a site](https://example.com/x.md) and `[code](nowhere.md)`.',
    ].join('\n');
    expect(brokenLinks('README.md', text).map((p) => [p.line, p.message])).toEqual([
      [1, 'broken link: docs/nowhere.md'],
      [2, 'link leaves the repository: ../elsewhere/README.md'],
    ]);
  });
});
