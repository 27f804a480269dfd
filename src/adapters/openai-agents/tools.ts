import { type FunctionTool, tool } from '@openai/agents';
import type { Registry } from '../../tools/registry.js';
import { runTool } from '../shared/run.js';
import { selectTools, type ToolSelection } from '../shared/select.js';
import { toText, unserializable } from '../shared/serialize.js';

export interface AgentsToolsOptions extends ToolSelection {
  /** A time budget per call, from when the model's call arrives; the profile's `timeout.totalMs` still applies. */
  readonly deadlineMs?: number;
  /** Bounds content-derived keys: a conversation or user id. */
  readonly scope?: string;
}

/**
 * The SDK's JSON-schema parameter shapes (not exported by `@openai/agents`):
 * it tells strict from non-strict schemas by `additionalProperties`.
 */
interface SchemaShape<Extra extends boolean> {
  type: 'object';
  properties: Record<string, never>;
  required: never[];
  additionalProperties: Extra;
}

/** A registry tool as an Agents SDK function tool; its output is the text the model reads. */
export type AgentsTool = FunctionTool<unknown, SchemaShape<true>, string>;

/**
 * The registry's tools as OpenAI Agents SDK function tools. The policy runs
 * inside `execute`, because the SDK turns anything `execute` throws into a
 * generic string (its `errorFunction`) that no retry could see; the call id
 * is `details.toolCall.callId` and `details.signal` cancels the operation.
 *
 * Results are handed over as text (JSON for anything but a string), so that
 * a tool's value is never mistaken for one of the SDK's structured output
 * shapes (`{ type: 'text' | 'image' | 'file' }`), and a failure is the same
 * structured error, as JSON, that `handleToolCalls` sends.
 */
export function createAgentsTools(registry: Registry, options: AgentsToolsOptions = {}): AgentsTool[] {
  return selectTools(registry, options).map((info) => {
    const execute = async (
      input: unknown,
      _context: unknown,
      details?: { toolCall?: { callId?: string }; signal?: AbortSignal },
    ): Promise<string> => {
      const run = await runTool(registry, info.name, input, {
        callId: details?.toolCall?.callId,
        signal: details?.signal,
        deadlineMs: options.deadlineMs,
        scope: options.scope,
      });
      if (!run.ok) return JSON.stringify(run.payload);
      return toText(run.value) ?? JSON.stringify(unserializable(info.name));
    };
    const description = info.description ?? info.name;
    // The registry's schema is already what models are shown; the SDK types it by strictness only.
    const made = info.strict
      ? tool({
          name: info.name,
          description,
          parameters: info.inputSchema as unknown as SchemaShape<false>,
          strict: true,
          execute,
        })
      : tool({
          name: info.name,
          description,
          parameters: info.inputSchema as unknown as SchemaShape<true>,
          strict: false,
          execute,
        });
    return made as unknown as AgentsTool;
  });
}
