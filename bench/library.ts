/**
 * The library as users run it: the compiled `dist/` (built by `npm run bench`),
 * not the TypeScript sources through tsx, whose esbuild transform wraps every
 * closure in a naming helper and would triple the measured overhead. Types
 * come from the sources so that typechecking needs no build.
 */

import type * as BreakwaterBlocks from '../src/building-blocks.js';
import type * as Breakwater from '../src/index.js';
import type * as BreakwaterRedis from '../src/redis.js';

export const bw: typeof Breakwater = await import(new URL('../dist/index.js', import.meta.url).href);
export const blocks: typeof BreakwaterBlocks = await import(
  new URL('../dist/building-blocks.js', import.meta.url).href
);
export const redis: typeof BreakwaterRedis = await import(new URL('../dist/redis.js', import.meta.url).href);
