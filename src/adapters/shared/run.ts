import { TOOL_NAME_PATTERN, type ToolErrorPayload } from '../../tools/formats.js';
import { toolErrorPayload } from '../../tools/handle.js';
import type { Registry } from '../../tools/registry.js';
import { outcomeOf } from './outcome.js';

/** What a framework hands over with one tool call. */
export interface FrameworkCall {
  /** The framework's tool-call id: the idempotency key derives from it. */
  readonly callId?: string | undefined;
  /** The framework's abort signal: aborting it cancels the operation, attempts and waits included. */
  readonly signal?: AbortSignal | undefined;
  readonly deadlineMs?: number | undefined;
  readonly scope?: string | undefined;
  /** A key chosen upstream (an MCP client's), overriding the tool's strategy. */
  readonly idempotencyKey?: string | undefined;
}

export type ToolRun =
  | { readonly ok: true; readonly value: unknown }
  | {
      readonly ok: false;
      /** The typed error, for whoever wants more than the model is told. */
      readonly error: unknown;
      /** What the model is told: the same payload `handleToolCalls` sends. */
      readonly payload: ToolErrorPayload;
    };

/**
 * One call through the registry, ending in a value or in the structured
 * error a model can act on: frameworks expect a tool result, and a throw
 * would either crash their loop or reach the model as a bare message.
 */
export async function runTool(
  registry: Registry,
  name: string,
  args: unknown,
  call: FrameworkCall,
): Promise<ToolRun> {
  try {
    const value = await registry.call(name, args, {
      callId: call.callId,
      signal: call.signal,
      deadlineMs: call.deadlineMs,
      scope: call.scope,
      idempotencyKey: call.idempotencyKey,
    });
    return { ok: true, value };
  } catch (error) {
    // As in `handleToolCalls`: only a well-formed name is echoed back, the model may send anything as a name.
    const shown = TOOL_NAME_PATTERN.test(name) ? name : undefined;
    return {
      ok: false,
      error,
      payload: toolErrorPayload(error, shown, outcomeOf(registry.get(name), error)),
    };
  }
}
