import { ToolMessage } from '@langchain/core/messages';
import { ToolInvocationError, type WrapToolCallHook } from 'langchain';
import { z } from 'zod/v4';
import type { Effect } from '../../policy/decision.js';
import type { ProfileInput } from '../../policy/profile.js';
import { invalidInput, ToolError } from '../../tools/errors.js';
import { TOOL_NAME_PATTERN } from '../../tools/formats.js';
import type { KeyStrategy, Registry } from '../../tools/registry.js';
import { follow } from '../shared/fan-out.js';
import { runTool } from '../shared/run.js';
import { isGoverned } from './marker.js';

/** How the middleware runs one of the agent's own LangChain tools. */
export interface LangChainToolPolicy {
  /** `non-idempotent` unless declared, as for any registry tool. */
  readonly effect?: Effect;
  /** A built-in profile, one named in the middleware's `profiles`, or overrides of the effect's built-in. */
  readonly profile?: string | ProfileInput;
  readonly idempotency?: {
    /** The tool passes its key on to a dependency that de-duplicates by it. */
    readonly honored?: boolean;
    readonly key?: KeyStrategy<Record<string, unknown>>;
  };
}

export interface ToolCallOptions {
  /** Per tool name. */
  readonly tools?: Readonly<Record<string, LangChainToolPolicy>> | undefined;
  /** For tools not named in `tools`; `false` leaves them alone. Default: the non-idempotent defaults. */
  readonly defaultTool?: LangChainToolPolicy | false | undefined;
  readonly deadlineMs?: number | undefined;
  readonly scope?: string | undefined;
}

/** A tool's answer in a form the ledger can store and replay (a `ToolMessage` instance does not survive JSON). */
interface MessageRecord {
  readonly breakwater: 'tool_message';
  readonly content: ToolMessage['content'];
  readonly status?: 'success' | 'error' | undefined;
  readonly artifact?: unknown;
}

function isRecord(value: unknown): value is MessageRecord {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { breakwater?: unknown }).breakwater === 'tool_message'
  );
}

/** LangGraph's interrupts and parent commands travel as errors with this flag and must reach the graph untouched. */
function bubblesUp(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { is_bubble_up?: unknown }).is_bubble_up === true;
}

type Request = Parameters<WrapToolCallHook>[0];
type Handler = Parameters<WrapToolCallHook>[1];
type Answer = Awaited<ReturnType<Handler>>;
type Run = (signal: AbortSignal) => Promise<Answer>;

/**
 * The tool in a request, with its `invoke` given the attempt's signal as well
 * as the run's: LangChain's tool node passes the run's signal only, and an
 * attempt that times out must stop its tool, not leave it running.
 */
function withSignal(tool: Request['tool'], signal: AbortSignal): Request['tool'] {
  if (typeof tool !== 'object' || tool === null || typeof tool.invoke !== 'function') return tool;
  return new Proxy(tool, {
    get(target, prop) {
      if (prop === 'invoke') {
        return (input: unknown, config?: { signal?: AbortSignal }) => {
          const signals = config?.signal ? [config.signal, signal] : [signal];
          return (target.invoke as (i: unknown, c: unknown) => unknown)(input, {
            ...config,
            signal: AbortSignal.any(signals),
          });
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      // Bound to the real tool: its methods may use private fields a proxy does not have.
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * `wrapToolCall`: each of the agent's own tools runs under a registry tool
 * of the same name whose `execute` is LangChain's handler, so it gets the
 * registry's whole policy: retries by effect, breaker, gate, deadline, the
 * idempotency ledger keyed on `toolCall.id` (a resumed graph that re-runs
 * the tools node replays instead of repeating), telemetry, and a failure as
 * a `ToolMessage` with status `error` carrying the structured error.
 */
export function toolCallWrapper(registry: Registry, options: ToolCallOptions): WrapToolCallHook {
  /** LangChain name → registry name; registry names follow the providers' pattern, LangChain's need not. */
  const names = new Map<string, string>();
  /**
   * Tool and call id → the handlers waiting to run that call; the registry's
   * `execute` takes the first. Twins of one call (the same id delivered twice)
   * are joined by the ledger, but if the one running it is cancelled, another
   * takes over and must find a handler of its own.
   */
  const pending = new Map<string, Run[]>();
  const slot = (name: string, callId: string) => `${name}\u0000${callId}`;

  function registryName(name: string, policy: LangChainToolPolicy): string {
    const known = names.get(name);
    if (known !== undefined) return known;
    const base = TOOL_NAME_PATTERN.test(name)
      ? name
      : name.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 56) || 'tool';
    let candidate = base;
    for (let n = 2; registry.get(candidate) !== undefined; n++) candidate = `${base.slice(0, 56)}_${n}`;
    registry.register({
      name: candidate,
      // The tool validates its own arguments (LangChain does, before calling it); any object passes here.
      input: z.object({}).catchall(z.unknown()),
      ...(policy.effect !== undefined ? { effect: policy.effect } : {}),
      ...(policy.profile !== undefined ? { profile: policy.profile } : {}),
      ...(policy.idempotency !== undefined ? { idempotency: policy.idempotency } : {}),
      execute: async (_input, ctx) => {
        const run = ctx.callId !== undefined ? pending.get(slot(candidate, ctx.callId))?.[0] : undefined;
        if (!run) throw new Error('breakwater: no LangChain handler for this call');
        const answer = await run(ctx.signal);
        if (!ToolMessage.isInstance(answer)) return answer;
        const record: MessageRecord = {
          breakwater: 'tool_message',
          content: answer.content,
          status: answer.status,
          ...(answer.artifact !== undefined ? { artifact: answer.artifact } : {}),
        };
        return record;
      },
    });
    names.set(name, candidate);
    return candidate;
  }

  // Named tools are registered now, so that a bad profile fails when the agent is built, not on its first call.
  for (const [name, policy] of Object.entries(options.tools ?? {})) registryName(name, policy);

  return async (request: Request, handler: Handler): Promise<Answer> => {
    const { toolCall } = request;
    // No such tool in the agent: a name the model made up. LangChain answers it; no tool,
    // policy or metric series is made for it, or the model's words would grow them without end.
    if (request.tool === undefined || isGoverned(request.tool)) return handler(request);
    const policy = options.tools?.[toolCall.name] ?? options.defaultTool ?? {};
    if (policy === false) return handler(request);
    const name = registryName(toolCall.name, policy);
    // Without an id nothing can name this call again; a fresh one still routes it to its handler.
    const callId = toolCall.id ?? `bw_${crypto.randomUUID()}`;
    let bubbled: unknown;
    const run = async (signal: AbortSignal): Promise<Answer> => {
      try {
        return await handler({ ...request, tool: withSignal(request.tool, signal) });
      } catch (err) {
        if (bubblesUp(err)) {
          bubbled = err;
          // Nothing ran to completion: the ledger frees the key, so the resumed graph may run it again.
          throw new ToolError('interrupted', { kind: 'cancelled', delivery: 'not_sent', cause: err });
        }
        if (ToolInvocationError.isInstance(err))
          throw invalidInput(name, [{ path: '', message: err.toolError?.message ?? err.message }]);
        throw err;
      }
    };
    const key = slot(name, callId);
    const waiting = pending.get(key) ?? [];
    waiting.push(run);
    pending.set(key, waiting);
    const runSignal = follow(request.runtime.signal);
    try {
      const result = await runTool(registry, name, toolCall.args, {
        callId,
        signal: runSignal.signal,
        deadlineMs: options.deadlineMs,
        scope: options.scope,
      });
      if (bubbled !== undefined) throw bubbled;
      if (!result.ok) {
        // The run was cancelled: let it end the way LangChain ends it, not with a message for a model that is gone.
        if (request.runtime.signal?.aborted) throw result.error;
        return new ToolMessage({
          content: JSON.stringify(result.payload),
          tool_call_id: toolCall.id ?? '',
          name: toolCall.name,
          status: 'error',
          artifact: result.payload,
        });
      }
      const value = result.value;
      if (isRecord(value)) {
        return new ToolMessage({
          content: value.content,
          tool_call_id: toolCall.id ?? '',
          name: toolCall.name,
          ...(value.status !== undefined ? { status: value.status } : {}),
          ...(value.artifact !== undefined ? { artifact: value.artifact } : {}),
        });
      }
      // A LangGraph Command, as the handler returned it. Replayed from a store it is plain JSON, and shown as such.
      if (
        typeof value === 'object' &&
        value !== null &&
        Object.getPrototypeOf(value) !== Object.prototype &&
        (value as { lg_name?: unknown }).lg_name === 'Command'
      )
        return value as Answer;
      return new ToolMessage({
        content: typeof value === 'string' ? value : JSON.stringify(value),
        tool_call_id: toolCall.id ?? '',
        name: toolCall.name,
      });
    } finally {
      runSignal.release();
      waiting.splice(waiting.indexOf(run), 1);
      if (waiting.length === 0 && pending.get(key) === waiting) pending.delete(key);
    }
  };
}
