import type { z } from 'zod/v4';
import type { InputIssue, InvalidInputError } from '../failure/errors.js';
import { invalidInput } from './errors.js';
import type { StandardIssue, StandardOutput, StandardSchema } from './standard-schema.js';

const SEGMENT_MAX = 64;
const MESSAGE_MAX = 200;
const ISSUES_MAX = 20;
/** A path is echoed to the model on every bad call: bounded in length however many levels a schema reports. */
const PATH_MAX = 1024;

/** Names from the model are echoed back to it; bounded, so a 1 MB key cannot become a 1 MB error. */
function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

export function pathOf(path: readonly PropertyKey[]): string {
  // No real path is deeper than the arguments may be: a schema reporting 10^5 levels is cut, not joined whole.
  const shown = path.length > MAX_ARGUMENT_DEPTH + 1 ? path.slice(0, MAX_ARGUMENT_DEPTH + 1) : path;
  return clip(
    shown
      .map((p) => clip(typeof p === 'symbol' ? (p.description ?? 'symbol') : String(p), SEGMENT_MAX))
      .join('.'),
    PATH_MAX,
  );
}

/** Zod's issues, one per offending field, worded for a model that has to fix its call. */
export function issuesOf(error: z.ZodError): InputIssue[] {
  const out: InputIssue[] = [];
  for (const issue of error.issues) {
    if (out.length >= ISSUES_MAX) break;
    if (issue.code === 'unrecognized_keys') {
      // One issue lists every unknown key: 10^6 of them must not become 10^6 issues.
      for (const key of issue.keys) {
        if (out.length >= ISSUES_MAX) break;
        out.push({ path: pathOf([...issue.path, key]), message: 'unknown field' });
      }
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

/**
 * More keys and array elements than this, in all, are refused: validating
 * them, and naming each unknown one, is work in proportion to their number
 * (10^6 keys blocked the event loop for seconds).
 */
export const MAX_ARGUMENT_KEYS = 100_000;

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

/** What a scalar adds to the JSON text, counted without building it; undefined past `room`. */
function scalarBytes(v: unknown, room: number): number {
  if (typeof v === 'string') {
    // UTF-8 takes at least one byte per UTF-16 unit: a string longer than the room left is over without encoding it.
    if (v.length + 2 > room) return v.length + 2;
    return Buffer.byteLength(v, 'utf8') + 2;
  }
  if (typeof v === 'number') return Number.isFinite(v) ? String(v).length : 4;
  if (typeof v === 'boolean') return v ? 4 : 5;
  return 4;
}

/**
 * Checks arguments against the limits the string form has (its size as JSON
 * text, depth, keys) in one walk that stops at the first limit crossed, so a
 * hostile input costs no more than the largest accepted one; and finds own
 * `__proto__` keys, which JSON.parse creates as plain properties: harmless
 * here, but one spread or merge away from prototype pollution in a tool's
 * code, so they never reach it.
 */
function inspect(value: unknown, maxBytes: number): InputIssue[] {
  const issues: InputIssue[] = [];
  const stack: Frame[] = [{ v: value, key: undefined, parent: undefined, depth: 0 }];
  let bytes = 0;
  let keys = 0;
  const tooLarge = () => [
    { path: '', message: `arguments larger than ${maxBytes} bytes (maxArgumentBytes)` },
  ];
  const tooMany = () => [
    { path: '', message: `arguments with more than ${MAX_ARGUMENT_KEYS} keys and elements` },
  ];
  while (stack.length > 0) {
    const f = stack.pop()!;
    const v = f.v;
    if (v === null || typeof v !== 'object') {
      bytes += scalarBytes(v, maxBytes - bytes);
      if (bytes > maxBytes) return tooLarge();
      continue;
    }
    if (f.depth > MAX_ARGUMENT_DEPTH) {
      return [{ path: '', message: `arguments nested deeper than ${MAX_ARGUMENT_DEPTH} levels` }];
    }
    bytes += 2;
    if (v instanceof Map || v instanceof Set) {
      // Entries hold no own keys, so the walk below would count a 10^6-entry Map as `{}`; schemas
      // (`z.map`, `z.set`) and the fingerprint still visit every entry.
      for (const entry of v instanceof Map ? v : v.values()) {
        if (++keys > MAX_ARGUMENT_KEYS) return tooMany();
        bytes += 1;
        stack.push({ v: entry, key: keys, parent: f, depth: f.depth + 1 });
      }
    } else if (Array.isArray(v)) {
      // By index, stopping early: `Object.keys` of a 10^6-element array is already the work being refused.
      for (let i = 0; i < v.length; i++) {
        if (++keys > MAX_ARGUMENT_KEYS) return tooMany();
        bytes += 1;
        stack.push({ v: v[i], key: i, parent: f, depth: f.depth + 1 });
      }
    } else {
      for (const k in v) {
        if (!Object.hasOwn(v, k)) continue;
        if (++keys > MAX_ARGUMENT_KEYS) return tooMany();
        bytes += scalarBytes(k, maxBytes - bytes) + 2;
        if (bytes > maxBytes) return tooLarge();
        stack.push({ v: (v as Record<string, unknown>)[k], key: k, parent: f, depth: f.depth + 1 });
      }
      if (Object.hasOwn(v, '__proto__') && issues.length < ISSUES_MAX)
        issues.push({ path: framePath(f, '__proto__'), message: 'forbidden field name' });
    }
    if (bytes > maxBytes) return tooLarge();
  }
  return issues;
}

export interface ParseOptions {
  /** Longest JSON text accepted, in bytes: a string before parsing, an object by its size as JSON text. */
  readonly maxArgumentBytes: number;
  /** Handed the arguments as sent (parsed, within the limits) before any schema sees or transforms them. */
  readonly onRead?: ((sent: object) => void) | undefined;
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
  const parsed = schema.safeParse(readArguments(tool, args, options));
  if (!parsed.success) throw fail(tool, issuesOf(parsed.error));
  return parsed.data;
}

/**
 * The same for a Standard Schema (valibot, arktype, …), whose `validate` may
 * answer with a promise. `known`: the top-level fields the schema declares,
 * when others are to be refused (as the zod path refuses them).
 */
export async function parseStandardArguments<S extends StandardSchema>(
  tool: string,
  schema: S,
  args: unknown,
  options: ParseOptions & {
    readonly known?: ReadonlySet<string> | undefined;
    /**
     * Bounds the wait for the schema's answer (the call's deadline, the caller's
     * cancel): an async check that never settles must not hold the call forever.
     */
    readonly within?: ((answer: Promise<unknown>) => Promise<unknown>) | undefined;
  },
): Promise<StandardOutput<S>> {
  const value = readArguments(tool, args, options);
  const unknown: InputIssue[] = [];
  if (options.known) {
    for (const k in value) {
      if (unknown.length >= ISSUES_MAX) break;
      if (Object.hasOwn(value, k) && !options.known.has(k))
        unknown.push({ path: pathOf([k]), message: 'unknown field' });
    }
  }
  if (unknown.length > 0) throw fail(tool, unknown);
  // A schema that throws, or answers outside the contract, has run nothing: the model must hear "failed"
  // (a raw error reads as "may have taken effect"), and the thrown text, which may quote the value, is not shown.
  let answer: Promise<unknown>;
  try {
    // Awaited either way: a plain answer costs one microtask, a thenable from another realm is still followed.
    answer = Promise.resolve(schema['~standard'].validate(value)).catch(() => BROKEN);
  } catch {
    throw fail(tool, [SCHEMA_FAILED]);
  }
  const result = await (options.within ? options.within(answer) : answer);
  if (result === BROKEN || result === null || typeof result !== 'object') throw fail(tool, [SCHEMA_FAILED]);
  const issues: unknown = (result as { issues?: unknown }).issues;
  if (issues === undefined) return (result as { value?: unknown }).value as StandardOutput<S>;
  let told: InputIssue[];
  try {
    told = Array.isArray(issues) ? standardIssuesOf(issues, value) : [SCHEMA_FAILED];
  } catch {
    told = [SCHEMA_FAILED];
  }
  throw fail(
    tool,
    told.length > 0 ? told : [{ path: '', message: 'invalid arguments (the schema gave no reason)' }],
  );
}

const BROKEN = Symbol('schema threw');

const SCHEMA_FAILED: InputIssue = {
  path: '',
  message:
    'the input schema failed while checking the arguments (it threw, or answered outside the Standard Schema contract)',
};

function keyOf(segment: unknown): PropertyKey {
  const key: unknown =
    typeof segment === 'object' && segment !== null ? (segment as { key?: unknown }).key : segment;
  return typeof key === 'string' || typeof key === 'number' || typeof key === 'symbol' ? key : String(key);
}

/** The argument at `path`, or `missing` when its last key is absent. */
function argumentAt(
  value: unknown,
  path: readonly PropertyKey[],
): { readonly missing: boolean; readonly at: unknown } {
  let at: unknown = value;
  for (let i = 0; i < path.length; i++) {
    if (at === null || typeof at !== 'object') return { missing: false, at: undefined };
    const key = path[i]!;
    if (typeof key === 'symbol' || !Object.hasOwn(at, key))
      return { missing: i === path.length - 1, at: undefined };
    at = (at as Record<string, unknown>)[key];
  }
  return { missing: false, at };
}

/**
 * The libraries' messages quote the value received (valibot's "but received
 * \"4111…\"", arktype's "(was \"4111…\")"), which may be personal data: the
 * offending value is cut out of the text. Short numbers stay ("was 0"): they
 * say what was wrong and identify no one.
 */
function withoutValue(text: string, at: unknown): string {
  let shown: string[] = [];
  // Quoted as each library quotes it (valibot inside plain quotes, unescaped: `"a"b"`; arktype as JSON), quoted
  // forms first; bare only when too long to be mistaken for the message's own words.
  if (typeof at === 'string' && at !== '') {
    shown = [`"${at}"`, JSON.stringify(at)];
    if (at.length >= 8) shown.push(at);
  } else if ((typeof at === 'number' && Number.isFinite(at)) || typeof at === 'bigint') {
    const digits = String(at);
    if (digits.length >= 4) shown = [digits];
  }
  let out = text;
  for (const s of shown) out = out.split(s).join('…');
  return out;
}

/**
 * A Standard Schema's issues, worded for the model: the library's message
 * without the value it quotes; a missing field worded alike whatever the
 * library.
 */
export function standardIssuesOf(issues: ReadonlyArray<StandardIssue>, value: unknown): InputIssue[] {
  const out: InputIssue[] = [];
  for (const given of issues) {
    if (out.length >= ISSUES_MAX) break;
    // Read as the contract says, whatever the schema answered: a malformed issue is "invalid value" at the root.
    const issue: Partial<StandardIssue> = typeof given === 'object' && given !== null ? given : {};
    const keys = Array.isArray(issue.path) ? issue.path.map(keyOf) : [];
    const path = pathOf(keys);
    const { missing, at } = argumentAt(value, keys);
    if (keys.length > 0 && missing) {
      // valibot and arktype say what they wanted; arktype's unions fold a "(was …)" into it, so those are left out.
      const expected: unknown = (issue as { expected?: unknown }).expected;
      const wanted =
        typeof expected === 'string' && expected !== '' && !expected.includes('(was ')
          ? ` (expected ${clip(expected, MESSAGE_MAX)})`
          : '';
      out.push({ path, message: `required field missing${wanted}` });
      continue;
    }
    const message =
      typeof issue.message === 'string' && issue.message !== '' ? issue.message : 'invalid value';
    out.push({ path, message: clip(withoutValue(message, at), MESSAGE_MAX) });
  }
  return out;
}

/** Arguments as an object within the limits, before any schema sees them. */
function readArguments(tool: string, args: unknown, options: ParseOptions): object {
  let value = args;
  if (typeof args === 'string') {
    if (Buffer.byteLength(args, 'utf8') > options.maxArgumentBytes) {
      throw fail(tool, [
        { path: '', message: `arguments larger than ${options.maxArgumentBytes} bytes (maxArgumentBytes)` },
      ]);
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
  // Before any validation: the schema's work grows with the input, the walk's stops at the limits.
  // (A string's size was measured exactly above.)
  let refused: InputIssue[];
  try {
    refused = inspect(value, typeof args === 'string' ? Number.POSITIVE_INFINITY : options.maxArgumentBytes);
  } catch {
    // A getter or a Proxy trap threw while the arguments were read; its message may hold anything, so it is not echoed.
    throw fail(tool, [{ path: '', message: 'arguments could not be read (a getter or proxy threw)' }]);
  }
  if (refused.length > 0) throw fail(tool, refused);
  options.onRead?.(value);
  return value;
}

function fail(tool: string, issues: readonly InputIssue[]): InvalidInputError {
  return invalidInput(tool, issues);
}
