/**
 * `breakwater/testing` stays out of the main entry: the module graph of every
 * other entry point never reaches src/testing, and the testing entry itself
 * needs nothing beyond Node and the package's own dependencies (no test
 * runner, no fast-check), so a user's production bundle never carries fake
 * servers and a user's test suite needs nothing new.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  exports: Record<string, string | { import?: string }>;
  dependencies: Record<string, string>;
};

/** Every source file `entry` loads (type-only imports excluded: they vanish from the build), and the bare specifiers it reaches. */
function graph(entry: string): { files: Set<string>; bare: Set<string> } {
  const files = new Set<string>();
  const bare = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    for (const statement of source.statements) {
      let spec: ts.Expression | undefined;
      if (ts.isImportDeclaration(statement)) {
        if (statement.importClause?.isTypeOnly) continue;
        spec = statement.moduleSpecifier;
      } else if (ts.isExportDeclaration(statement)) {
        if (statement.isTypeOnly || !statement.moduleSpecifier) continue;
        spec = statement.moduleSpecifier;
      }
      if (!spec || !ts.isStringLiteral(spec)) continue;
      const text = spec.text;
      if (text.startsWith('.')) visit(resolve(dirname(file), text.replace(/\.js$/, '.ts')));
      else bare.add(text);
    }
  };
  visit(entry);
  return { files, bare };
}

const entries = Object.entries(pkg.exports).flatMap(([subpath, target]) => {
  const js = typeof target === 'string' ? target : target.import;
  return js?.endsWith('.js')
    ? [{ subpath, source: join(ROOT, js.replace('./dist/', 'src/').replace(/\.js$/, '.ts')) }]
    : [];
});

describe('the testing entry point', () => {
  it('is in the exports map with types, import and default conditions', () => {
    expect(pkg.exports['./testing']).toEqual({
      types: './dist/testing.d.ts',
      import: './dist/testing.js',
      default: './dist/testing.js',
    });
  });

  it('is never loaded by importing `breakwater` (or any other entry)', () => {
    const main = graph(join(ROOT, 'src/index.ts'));
    expect(main.files.size).toBeGreaterThan(10);
    for (const { subpath, source } of entries) {
      if (subpath === './testing') continue;
      const reached = [...graph(source).files]
        .map((f) => relative(ROOT, f))
        .filter((f) => f.startsWith('src/testing'));
      expect({ subpath, reached }).toEqual({ subpath, reached: [] });
    }
  });

  it('needs nothing beyond Node and the package’s own dependencies', () => {
    const { files, bare } = graph(join(ROOT, 'src/testing.ts'));
    expect([...files].some((f) => f.endsWith('src/testing/chaos.ts'))).toBe(true);
    const foreign = [...bare].filter((s) => !s.startsWith('node:') && !(s in pkg.dependencies));
    expect(foreign).toEqual([]);
  });
});
