import { ToolMessage } from '@langchain/core/messages';
import {
  DynamicStructuredTool,
  type StructuredToolInterface,
  type ToolRunnableConfig,
  type ToolSchemaBase,
} from '@langchain/core/tools';
import type { Registry } from '../../tools/registry.js';
import { runTool } from '../shared/run.js';
import { selectTools, type ToolSelection } from '../shared/select.js';
import { GOVERNED } from './marker.js';

export interface LangChainToolsOptions extends ToolSelection {
  /** A time budget per call, from when the model's call arrives; the profile's `timeout.totalMs` still applies. */
  readonly deadlineMs?: number;
  /** Bounds content-derived keys: a conversation or user id. */
  readonly scope?: string;
}

/** A registry tool as a LangChain structured tool (a `DynamicStructuredTool` over the tool's JSON Schema). */
export type LangChainTool = StructuredToolInterface;

/**
 * The registry's tools as `@langchain/core` structured tools, for
 * `createAgent`, `bindTools` or LangGraph's `ToolNode`. `config.toolCall.id`
 * is the idempotency key's source and `config.signal` cancels the operation.
 *
 * A failure answers a tool call with a `ToolMessage` whose `status` is
 * `error` and whose content is the structured error: LangChain's own
 * convention for a failed tool, which the model reads instead of the run
 * crashing. Invoked with plain arguments (no tool call), the tool returns the
 * error payload as its value.
 */
export function createLangchainTools(
  registry: Registry,
  options: LangChainToolsOptions = {},
): LangChainTool[] {
  return selectTools(registry, options).map(
    (info) =>
      new DynamicStructuredTool({
        name: info.name,
        description: info.description ?? info.name,
        // LangChain validates against it before calling us; the registry validates again, with its own rules.
        schema: info.inputSchema as unknown as ToolSchemaBase,
        metadata: { [GOVERNED]: true, effect: info.effect },
        func: async (input: unknown, _runManager?: unknown, config?: ToolRunnableConfig) => {
          const callId = config?.toolCall?.id;
          const run = await runTool(registry, info.name, input, {
            callId,
            signal: config?.signal,
            deadlineMs: options.deadlineMs,
            scope: options.scope,
          });
          if (run.ok) return run.value;
          if (callId === undefined) return run.payload;
          return new ToolMessage({
            content: JSON.stringify(run.payload),
            tool_call_id: callId,
            name: info.name,
            status: 'error',
            artifact: run.payload,
          });
        },
      }),
  );
}
