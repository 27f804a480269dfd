/**
 * Keeps the documentation honest: every ```ts block in README.md and docs/*.md
 * compiles against the package as a user imports it (`breakwater`,
 * `breakwater/redis`, …), and every relative link points at a file that exists.
 * A block marked ```ts continued is compiled after the blocks of the same page
 * before it (a page that builds one program step by step). A block marked
 * ```ts fragment is shown, not compiled: use it only for a piece of a larger
 * program that cannot stand alone.
 *
 * Run: `npx tsx scripts/docs-check.ts` (test/package/docs.test.ts runs it in `npm test`).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export interface CodeBlock {
  readonly file: string;
  /** 1-based line of the block's first code line. */
  readonly line: number;
  readonly info: string;
  readonly code: string;
}

export interface DocProblem {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** README.md, every page under docs/, and the examples' READMEs, relative to the repository root. */
export function documentationFiles(root = ROOT): string[] {
  const pages = (dir: string) =>
    readdirSync(join(root, dir))
      .filter((name) => name.endsWith('.md'))
      .sort()
      .map((name) => `${dir}/${name}`);
  const examples = readdirSync(join(root, 'examples'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(root, 'examples', entry.name, 'README.md')))
    .map((entry) => `examples/${entry.name}/README.md`)
    .sort();
  return ['README.md', ...pages('docs'), ...pages('examples'), ...examples];
}

/** The fenced code blocks of one Markdown text, with the line each starts on. */
export function codeBlocks(file: string, markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split('\n');
  let open: { info: string; line: number; body: string[] } | undefined;
  lines.forEach((text, index) => {
    const fence = /^```(.*)$/.exec(text);
    if (open === undefined) {
      if (fence) open = { info: (fence[1] ?? '').trim(), line: index + 2, body: [] };
    } else if (fence && fence[1]?.trim() === '') {
      blocks.push({ file, line: open.line, info: open.info, code: open.body.join('\n') });
      open = undefined;
    } else open.body.push(text);
  });
  return blocks;
}

function flags(block: CodeBlock): { lang: string; flags: string[] } {
  const [lang = '', ...rest] = block.info.split(/\s+/);
  return { lang, flags: rest };
}

/** A block the check compiles: ```ts or ```typescript, unless marked `fragment`. */
export function isCompiled(block: CodeBlock): boolean {
  const { lang, flags: marks } = flags(block);
  return (lang === 'ts' || lang === 'typescript') && !marks.includes('fragment');
}

/** One module to compile: a block, and the code of the blocks it continues. */
export interface CompileUnit {
  readonly block: CodeBlock;
  readonly prelude: string;
}

/** The compiled blocks of one page as modules; a `continued` block carries the page's code before it. */
export function compileUnits(blocks: readonly CodeBlock[]): CompileUnit[] {
  let chain = '';
  return blocks.filter(isCompiled).map((block) => {
    const prelude = flags(block).flags.includes('continued') ? chain : '';
    chain = prelude === '' ? block.code : `${prelude}\n${block.code}`;
    return { block, prelude };
  });
}

/** Relative links (`[text](target)`) outside code that do not resolve to a file or folder. */
export function brokenLinks(file: string, markdown: string, root = ROOT): DocProblem[] {
  const problems: DocProblem[] = [];
  let inFence = false;
  markdown.split('\n').forEach((text, index) => {
    if (text.startsWith('```')) inFence = !inFence;
    if (inFence) return;
    const prose = text.replace(/`[^`]*`/g, '');
    for (const match of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = (match[1] ?? '').split('#')[0] ?? '';
      if (target === '' || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      const path = resolve(root, dirname(file), decodeURIComponent(target));
      if (!path.startsWith(root)) {
        problems.push({ file, line: index + 1, message: `link leaves the repository: ${target}` });
      } else if (!existsSync(path)) {
        problems.push({ file, line: index + 1, message: `broken link: ${target}` });
      }
    }
  });
  return problems;
}

/**
 * Type-checks the blocks, each as its own ES module, with `breakwater` and its
 * subpaths mapped to the sources the package's exports are built from. The
 * modules are written into a scratch folder inside the repository, so that
 * `openai`, `zod` and the other imports resolve from its node_modules.
 */
export function compileBlocks(units: readonly CompileUnit[], root = ROOT): DocProblem[] {
  const scratch = join(root, `.docs-check-${process.pid}`);
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  try {
    writeFileSync(join(scratch, 'package.json'), '{ "type": "module" }\n');
    const byFile = new Map<string, CompileUnit>();
    units.forEach((unit, index) => {
      const { block, prelude } = unit;
      const name = join(scratch, `${block.file.replace(/[/.]/g, '_')}_${block.line}_${index}.ts`);
      // `export {}` makes every block a module, so top-level await and repeated names are fine.
      writeFileSync(name, `${prelude === '' ? '' : `${prelude}\n`}${block.code}\nexport {};\n`);
      byFile.set(name, unit);
    });
    const program = ts.createProgram([...byFile.keys()], compilerOptions(root));
    const problems = ts.getPreEmitDiagnostics(program).flatMap((diagnostic): DocProblem[] => {
      const unit = diagnostic.file ? byFile.get(resolve(diagnostic.file.fileName)) : undefined;
      const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
      if (!unit || !diagnostic.file || diagnostic.start === undefined) {
        const where = diagnostic.file ? relative(root, diagnostic.file.fileName) : 'compiler';
        return [{ file: where, line: 0, message: text }];
      }
      const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
      const preludeLines = unit.prelude === '' ? 0 : unit.prelude.split('\n').length;
      // An error in the prelude belongs to an earlier block, which reports it itself.
      if (line < preludeLines) return [];
      return [{ file: unit.block.file, line: unit.block.line + line - preludeLines, message: text }];
    });
    return problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function compilerOptions(root: string): ts.CompilerOptions {
  const configPath = join(root, 'tsconfig.json');
  const config = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const entries: Record<string, string[]> = { breakwater: [join(root, 'src/index.ts')] };
  for (const subpath of [
    'building-blocks',
    'redis',
    'mcp',
    'ai-sdk',
    'openai-agents',
    'langchain',
    'testing',
  ]) {
    entries[`breakwater/${subpath}`] = [join(root, `src/${subpath}.ts`)];
  }
  return { ...parsed.options, noEmit: true, declaration: false, sourceMap: false, paths: entries };
}

/** Every problem in the documentation: compile errors of its TypeScript blocks and broken links. */
export function checkDocs(root = ROOT): DocProblem[] {
  const files = documentationFiles(root);
  const units: CompileUnit[] = [];
  const problems: DocProblem[] = [];
  for (const file of files) {
    const markdown = readFileSync(join(root, file), 'utf8');
    units.push(...compileUnits(codeBlocks(file, markdown)));
    problems.push(...brokenLinks(file, markdown, root));
  }
  problems.push(...compileBlocks(units, root));
  return problems;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const problems = checkDocs();
  for (const p of problems) console.error(`${p.file}:${p.line}: ${p.message}`);
  console.log(problems.length === 0 ? 'docs: every TypeScript block compiles, every link resolves' : '');
  process.exitCode = problems.length === 0 ? 0 : 1;
}
