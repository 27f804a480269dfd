/**
 * The library as users run it: the compiled `dist/` (built by `npm run bench`),
 * not the TypeScript sources through tsx, whose esbuild transform wraps every
 * closure in a naming helper and would triple the measured overhead. Types
 * come from the sources so that typechecking needs no build.
 */
import type * as Breakwater from '../src/index.js';

const url = new URL('../dist/index.js', import.meta.url);
export const bw: typeof Breakwater = await import(url.href);
