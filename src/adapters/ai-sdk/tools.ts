import { jsonSchema, type Tool, tool } from 'ai';
import type { Registry } from '../../tools/registry.js';
import { runTool } from '../shared/run.js';
import { selectTools, type ToolSelection } from '../shared/select.js';
import { toText } from '../shared/serialize.js';

/** A registry tool as the AI SDK sees it: JSON input, any JSON-able output. */
export type AiSdkTool = Tool<Record<string, unknown>, unknown>;

type ModelOutput = Awaited<ReturnType<NonNullable<AiSdkTool['toModelOutput']>>>;
type JsonValue = Extract<ModelOutput, { type: 'json' }>['value'];

export interface AiSdkToolsOptions extends ToolSelection {
  /** A time budget per call, from when the model's call arrives; the profile's `timeout.totalMs` still applies. */
  readonly deadlineMs?: number;
  /** Bounds content-derived keys: a conversation or user id. */
  readonly scope?: string;
}

/**
 * The error payloads this module returned. A failure is returned, not thrown,
 * so that the model reads the structured error (the AI SDK would reduce a
 * throw to its message); remembering the objects lets `toModelOutput` still
 * send them as `error-json`, which providers mark as a failed tool result.
 */
const failures = new WeakSet<object>();

function toModelOutput({ output }: { output: unknown }): ModelOutput {
  if (typeof output === 'object' && output !== null && failures.has(output))
    return { type: 'error-json', value: output as JsonValue };
  if (typeof output === 'string') return { type: 'text', value: output };
  // Through JSON text, so that what the model reads is exactly what JSON can carry (no bigint, no Date objects).
  const text = toText(output);
  return { type: 'json', value: (text === undefined ? null : JSON.parse(text)) as JsonValue };
}

/**
 * The registry's tools as an AI SDK `ToolSet` for `generateText` /
 * `streamText`. Each call runs under its tool's policy, with the AI SDK's
 * `toolCallId` as the idempotency key's source and its `abortSignal`
 * cancelling the operation; a failure becomes the structured error result.
 */
export function createAiSdkTools(
  registry: Registry,
  options: AiSdkToolsOptions = {},
): Record<string, AiSdkTool> {
  const tools: Record<string, AiSdkTool> = {};
  for (const info of selectTools(registry, options)) {
    tools[info.name] = tool({
      ...(info.description !== undefined ? { description: info.description } : {}),
      // No validator here: the registry validates, and answers a bad call with the structured `invalid_input`.
      inputSchema: jsonSchema<Record<string, unknown>>(info.inputSchema),
      ...(info.strict ? { strict: true } : {}),
      execute: async (input, { toolCallId, abortSignal }) => {
        const run = await runTool(registry, info.name, input, {
          callId: toolCallId,
          signal: abortSignal,
          deadlineMs: options.deadlineMs,
          scope: options.scope,
        });
        if (run.ok) return run.value;
        failures.add(run.payload);
        return run.payload;
      },
      toModelOutput,
    });
  }
  return tools;
}
