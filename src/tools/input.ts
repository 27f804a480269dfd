import type { z } from 'zod/v4';
import type { InputIssue, InvalidInputError } from '../failure/errors.js';
import { invalidInput } from './errors.js';

const SEGMENT_MAX = 64;
const MESSAGE_MAX = 200;
const ISSUES_MAX = 20;

/** Names from the model are echoed back to it; bounded, so a 1 MB key cannot become a 1 MB error. */
function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

export function pathOf(path: readonly PropertyKey[]): string {
  return path
    .map((p) => clip(typeof p === 'symbol' ? (p.description ?? 'symbol') : String(p), SEGMENT_MAX))
    .join('.');
}

/** Zod's issues, one per offending field, worded for a model that has to fix its call. */
export function issuesOf(error: z.ZodError): InputIssue[] {
  const out: InputIssue[] = [];
  for (const issue of error.issues) {
    if (out.length >= ISSUES_MAX) break;
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        out.push({ path: pathOf([...issue.path, key]), message: 'unknown field' });
      continue;
    }
    const path = pathOf(issue.path);
    if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) {
      out.push({ path, message: `required field missing (expected ${issue.expected})` });
      continue;
    }
    out.push({ path, message: clip(issue.message, MESSAGE_MAX) });
  }
  return out.slice(0, ISSUES_MAX);
}

/**
 * Deeper than this, arguments are refused: no tool's input needs it, the
 * idempotency fingerprint stops at the same depth, and a schema that recurses
 * (`z.json()`) would overflow the stack on a model's 100 000 nested brackets.
 */
export const MAX_ARGUMENT_DEPTH = 256;

interface Frame {
  readonly v: unknown;
  readonly key: PropertyKey | undefined;
  readonly parent: Frame | undefined;
  readonly depth: number;
}

/** A frame's path, built only when an issue names it: copying it at every level made deep input quadratic. */
function framePath(f: Frame, last: PropertyKey): string {
  const keys: PropertyKey[] = [last];
  for (let p: Frame | undefined = f; p?.key !== undefined; p = p.parent) keys.push(p.key);
  return pathOf(keys.reverse());
}

/**
 * Own `__proto__` keys, which JSON.parse creates as plain properties: harmless
 * here, but one spread or merge away from prototype pollution in a tool's
 * code, so they never reach it. And input nested deeper than
 * `MAX_ARGUMENT_DEPTH`.
 */
function forbiddenKeys(value: unknown): InputIssue[] {
  const issues: InputIssue[] = [];
  const stack: Frame[] = [{ v: value, key: undefined, parent: undefined, depth: 0 }];
  const seen = new Set<unknown>();
  while (stack.length > 0 && issues.length < ISSUES_MAX) {
    const f = stack.pop()!;
    const v = f.v;
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (f.depth > MAX_ARGUMENT_DEPTH) {
      return [{ path: '', message: `arguments nested deeper than ${MAX_ARGUMENT_DEPTH} levels` }];
    }
    if (Object.hasOwn(v, '__proto__'))
      issues.push({ path: framePath(f, '__proto__'), message: 'forbidden field name' });
    for (const k of Object.keys(v))
      stack.push({ v: (v as Record<string, unknown>)[k], key: k, parent: f, depth: f.depth + 1 });
  }
  return issues;
}

export interface ParseOptions {
  /** Longest JSON text accepted, in bytes; checked before parsing. */
  readonly maxArgumentBytes: number;
}

/**
 * Model arguments (a JSON string or an object) to validated input. Throws
 * `InvalidInputError` naming the tool and every offending field; never echoes
 * values, which may be personal data.
 */
export function parseArguments<S extends z.ZodType>(
  tool: string,
  schema: S,
  args: unknown,
  options: ParseOptions,
): z.output<S> {
  let value = args;
  if (typeof args === 'string') {
    if (Buffer.byteLength(args, 'utf8') > options.maxArgumentBytes) {
      throw fail(tool, [{ path: '', message: `arguments larger than ${options.maxArgumentBytes} bytes` }]);
    }
    // Models send an empty string for a call without arguments.
    if (args.trim() === '') value = {};
    else {
      try {
        value = JSON.parse(args);
      } catch (err) {
        const at = err instanceof SyntaxError ? /position (\d+)/.exec(err.message)?.[1] : undefined;
        throw fail(tool, [
          { path: '', message: `arguments are not valid JSON${at ? ` (at position ${at})` : ''}` },
        ]);
      }
    }
  } else if (args === undefined) value = {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
    throw fail(tool, [{ path: '', message: `arguments must be a JSON object, got ${got}` }]);
  }
  const forbidden = forbiddenKeys(value);
  if (forbidden.length > 0) throw fail(tool, forbidden);
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw fail(tool, issuesOf(parsed.error));
  return parsed.data;
}

function fail(tool: string, issues: readonly InputIssue[]): InvalidInputError {
  return invalidInput(tool, issues);
}
