import { isBreakwaterError, type Outcome } from '../failure/errors.js';
import { IdempotencyKeyReusedError } from '../idempotency/errors.js';
import { UnknownToolError } from './errors.js';
import {
  TOOL_NAME_PATTERN,
  type ToolErrorDetails,
  type ToolErrorPayload,
  type ToolResultFor,
} from './formats.js';

/** The part of a registry that running a model's calls needs. */
export interface CallRunner {
  call(
    name: string,
    args: unknown,
    options: {
      callId: string;
      signal?: AbortSignal | undefined;
      deadlineMs?: number | undefined;
      scope?: string | undefined;
    },
  ): Promise<unknown>;
  /** `unknown` when the failed call may have taken effect. */
  outcomeOf(name: string, err: unknown): Outcome;
}

export interface HandleCallsOptions {
  readonly signal?: AbortSignal | undefined;
  readonly deadlineMs?: number | undefined;
  readonly scope?: string | undefined;
  readonly concurrency?: number | undefined;
}

type Format = 'chat' | 'responses' | 'anthropic';

interface ParsedCall {
  readonly format: Format;
  readonly id: string;
  readonly name: unknown;
  readonly args: unknown;
  /** Set when the call can only be answered with an error. */
  readonly refusal?: string;
}

function field(o: object, k: string): unknown {
  return (o as Record<string, unknown>)[k];
}

/** Recognizes a tool call by shape; undefined for anything that is not one (or cannot be answered). */
function parseCall(item: unknown): ParsedCall | undefined {
  if (item === null || typeof item !== 'object') return undefined;
  const type = field(item, 'type');
  if (type === 'function_call') {
    const id = field(item, 'call_id');
    if (typeof id !== 'string') return undefined;
    return { format: 'responses', id, name: field(item, 'name'), args: field(item, 'arguments') };
  }
  if (type === 'tool_use') {
    const id = field(item, 'id');
    if (typeof id !== 'string') return undefined;
    return { format: 'anthropic', id, name: field(item, 'name'), args: field(item, 'input') };
  }
  const id = field(item, 'id');
  if (typeof id !== 'string') return undefined;
  if (type === 'function') {
    const fn = field(item, 'function');
    if (fn === null || typeof fn !== 'object')
      return { format: 'chat', id, name: undefined, args: undefined };
    return { format: 'chat', id, name: field(fn, 'name'), args: field(fn, 'arguments') };
  }
  if (type === 'custom') {
    const custom = field(item, 'custom');
    const name = custom !== null && typeof custom === 'object' ? field(custom, 'name') : undefined;
    return {
      format: 'chat',
      id,
      name,
      args: undefined,
      refusal: 'custom (free-text) tools are not served by this registry; only function tools are',
    };
  }
  return undefined;
}

function answer(call: ParsedCall, content: string, isError: boolean): unknown {
  switch (call.format) {
    case 'chat':
      return { role: 'tool', tool_call_id: call.id, content };
    case 'responses':
      return { type: 'function_call_output', call_id: call.id, output: content };
    case 'anthropic':
      return { type: 'tool_result', tool_use_id: call.id, content, ...(isError ? { is_error: true } : {}) };
  }
}

/** A result as the text a model reads: strings as they are, anything else as JSON. */
function serialize(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? 'null';
  } catch {
    return undefined;
  }
}

const UNKNOWN_ADVICE =
  'Do not call the tool again for the same purpose until you have checked whether it took effect.';

/** Appends advice to a message as a sentence of its own. */
function advise(message: string, advice: string): string {
  return `${message}${/[.!?]$/.test(message) ? '' : '.'} ${advice}`;
}

/**
 * What the model is told when a call fails: the typed error reduced to a
 * closed vocabulary, its message (written free of request content), whether
 * trying again could help and whether the call may have taken effect. Never
 * a stack, a cause or the input.
 */
export function toolErrorPayload(err: unknown, tool: string | undefined, outcome: Outcome): ToolErrorPayload {
  if (!isBreakwaterError(err)) {
    return {
      error: {
        type: 'internal_error',
        message:
          outcome === 'unknown'
            ? advise('the tool failed unexpectedly and may have taken effect', UNKNOWN_ADVICE)
            : 'the tool failed unexpectedly',
        retryable: false,
        outcome,
        details: tool !== undefined ? { tool } : {},
      },
    };
  }
  const f = err.failure;
  const issues = (err as { issues?: ToolErrorDetails['issues'] }).issues;
  const details: ToolErrorDetails = {
    ...(tool !== undefined ? { tool } : {}),
    kind: f.kind,
    ...(f.status !== undefined ? { status: f.status } : {}),
    ...(f.retryAfterMs !== undefined ? { retryAfterMs: Math.ceil(f.retryAfterMs) } : {}),
    ...(err.attempts.length > 0 ? { attempts: err.attempts.length } : {}),
    ...(issues && issues.length > 0 ? { issues } : {}),
  };
  let message = err.message;
  if (outcome === 'unknown') {
    message = advise(
      // A rejected answer surely reached the dependency: "may have reached it" would understate it.
      err.code === 'outcome_unknown' || f.code === 'result_rejected'
        ? message
        : `${message}, after the request may have reached it`,
      UNKNOWN_ADVICE,
    );
  } else if (err instanceof UnknownToolError) message = advise(message, 'Call one of the known tools.');
  else if (err.code === 'invalid_input' && !(err instanceof IdempotencyKeyReusedError))
    message = advise(message, 'Fix the arguments and call again.');
  return {
    error: {
      type: err.code,
      message,
      retryable: outcome === 'unknown' ? false : err.retryable,
      outcome,
      details,
    },
  };
}

async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export async function handleCalls<C extends { readonly type: string }>(
  calls: readonly C[] | null | undefined,
  options: HandleCallsOptions,
  runner: CallRunner,
): Promise<ToolResultFor<C>[]> {
  const limit = options.concurrency ?? 8;
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`concurrency: expected a positive integer, got ${limit}`);
  const parsed: ParsedCall[] = [];
  for (const item of calls ?? []) {
    const call = parseCall(item);
    if (call) parsed.push(call);
  }
  const results = new Map<ParsedCall, unknown>();
  await eachLimited(parsed, limit, async (call) => {
    // Only a well-formed name is echoed back: the model may send anything as a name.
    const tool = typeof call.name === 'string' && TOOL_NAME_PATTERN.test(call.name) ? call.name : undefined;
    const fail = (err: unknown, outcome: Outcome) =>
      results.set(call, answer(call, JSON.stringify(toolErrorPayload(err, tool, outcome)), true));
    if (call.refusal !== undefined) {
      const payload: ToolErrorPayload = {
        error: {
          type: 'invalid_input',
          message: call.refusal,
          retryable: false,
          outcome: 'failed',
          details: tool ? { tool } : {},
        },
      };
      results.set(call, answer(call, JSON.stringify(payload), true));
      return;
    }
    try {
      const value = await runner.call(typeof call.name === 'string' ? call.name : '', call.args, {
        callId: call.id,
        signal: options.signal,
        deadlineMs: options.deadlineMs,
        scope: options.scope,
      });
      const text = serialize(value);
      if (text === undefined) {
        // It ran; only its answer is lost, so it must not look like something to simply redo.
        const payload: ToolErrorPayload = {
          error: {
            type: 'internal_error',
            message: advise('the tool ran, but its result could not be turned into JSON', UNKNOWN_ADVICE),
            retryable: false,
            outcome: 'unknown',
            details: tool ? { tool } : {},
          },
        };
        results.set(call, answer(call, JSON.stringify(payload), true));
        return;
      }
      results.set(call, answer(call, text, false));
    } catch (err) {
      fail(err, tool === undefined ? 'failed' : runner.outcomeOf(tool, err));
    }
  });
  return parsed.map((c) => results.get(c)) as ToolResultFor<C>[];
}
