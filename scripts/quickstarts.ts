/**
 * The README's quick starts, as a fresh application runs them: each
 * ```ts block under "## Quick start" is written to <dir> as TypeScript (for a
 * type check against the installed package) and as JavaScript (to run), with
 * the local fakes that stand in for the payment API, the inventory API and
 * both model providers (scripts/quickstart-fakes.mjs).
 *
 * Run: `npx tsx scripts/quickstarts.ts <dir>`; .ci/package-check runs the result.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { type CodeBlock, codeBlocks, isCompiled } from './docs-check.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The compiled blocks of the README's "Quick start" section, in order. */
export function quickStarts(readme: string): CodeBlock[] {
  const start = readme.indexOf('\n## Quick start');
  if (start < 0) throw new Error('README.md: no "## Quick start" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(0, end < 0 ? undefined : end);
  const before = readme.slice(0, start).split('\n').length;
  return codeBlocks('README.md', section).filter((b) => isCompiled(b) && b.line > before);
}

/** Writes quickstart-N.ts, quickstart-N.mjs, fakes.mjs and a tsconfig.json into dir; returns the names. */
export function writeQuickStarts(dir: string): string[] {
  const blocks = quickStarts(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  copyFileSync(join(ROOT, 'scripts/quickstart-fakes.mjs'), join(dir, 'fakes.mjs'));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    `${JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2023', 'DOM'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        include: ['quickstart-*.ts'],
      },
      null,
      2,
    )}\n`,
  );
  return blocks.map((block, index) => {
    const name = `quickstart-${index + 1}`;
    const code = `${block.code}\nexport {};\n`;
    writeFileSync(join(dir, `${name}.ts`), code);
    const js = ts.transpileModule(code, {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
    });
    writeFileSync(join(dir, `${name}.mjs`), js.outputText);
    return name;
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: tsx scripts/quickstarts.ts <dir>');
  console.log(writeQuickStarts(resolve(dir)).join('\n'));
}
