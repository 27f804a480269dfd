import { InvalidInputError } from '../failure/errors.js';
import type { JsonSchema, ToolCall, ToolDefinition, ToolResultMessage, ToolsInput } from './types.js';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function invalid(path: string, message: string): InvalidInputError {
  return new InvalidInputError({
    issues: [{ path, message }],
    failure: {
      kind: 'invalid_input',
      delivery: 'not_sent',
      message: `${path}: ${message}`,
      cause: undefined,
    },
  });
}

/**
 * One definition in any of the shapes a registry might hand over: neutral
 * `{ name, parameters }`, OpenAI `{ type: 'function', function: { … } }`, or
 * Anthropic `{ name, input_schema }`. Anything else is the caller's mistake,
 * reported before a request is made.
 */
export function normalizeToolDefinition(value: unknown, path = 'tools'): ToolDefinition {
  if (!isRecord(value)) throw invalid(path, 'expected a tool definition object');
  const fn = value.type === 'function' && isRecord(value.function) ? value.function : undefined;
  const src = fn ?? value;
  const name = src.name;
  if (typeof name !== 'string' || name.length === 0) throw invalid(`${path}.name`, 'expected a tool name');
  const schema = fn ? fn.parameters : (value.parameters ?? value.input_schema);
  const parameters: JsonSchema = isRecord(schema) ? schema : { type: 'object', properties: {} };
  const description = typeof src.description === 'string' ? src.description : undefined;
  return { name, description, parameters };
}

/** The request's tools as neutral definitions, asking a source in the provider's own format. */
export function resolveTools(
  tools: ToolsInput | undefined,
  format: 'openai' | 'anthropic',
): ToolDefinition[] | undefined {
  if (tools === undefined) return undefined;
  const list: readonly unknown[] = isToolSource(tools) ? tools.definitions(format) : tools;
  return list.map((t, i) => normalizeToolDefinition(t, `tools[${i}]`));
}

function isToolSource(t: ToolsInput): t is Extract<ToolsInput, { definitions: unknown }> {
  return !Array.isArray(t) && typeof (t as { definitions?: unknown }).definitions === 'function';
}

/** A model's argument text as a tool call: malformed JSON is kept, not thrown, so the tool loop can report it. */
export function toolCallFromText(id: string, name: string, text: string): ToolCall {
  const trimmed = text.trim();
  if (trimmed === '') return { id, name, arguments: {} };
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (isRecord(parsed)) return { id, name, arguments: parsed };
  } catch {
    // Fall through: keep what the model wrote.
  }
  return { id, name, arguments: {}, rawArguments: text };
}

/**
 * A tool call from input that should be a JSON object but may be anything:
 * Anthropic's `tool_use.input` sent as JSON text by a compatible server, an
 * OpenAI-compatible server's `arguments` sent as an object. An object is the
 * arguments; text is parsed; anything else is kept in `rawArguments` as JSON,
 * so the tool loop reports it to the model instead of running the tool on `{}`.
 */
export function toolCallFromInput(id: string, name: string, input: unknown): ToolCall {
  if (isRecord(input)) return { id, name, arguments: input };
  if (typeof input === 'string') return toolCallFromText(id, name, input);
  if (input === undefined || input === null) return { id, name, arguments: {} };
  return { id, name, arguments: {}, rawArguments: JSON.stringify(input) ?? String(input) };
}

/** Two tool calls of one conversation under the same id: a tool result could not say which it answers. */
export function duplicateToolCallId(path: string, id: string): InvalidInputError {
  const shown = /^[\w-]{1,64}$/.test(id) ? `"${id}"` : '(an id that is not shown)';
  return invalid(path, `tool call id ${shown} is used by an earlier tool call of this conversation`);
}

/** The JSON text of a call's arguments, as the model wrote it when it was malformed. */
export function toolArgumentsText(call: ToolCall): string {
  return call.rawArguments ?? JSON.stringify(call.arguments);
}

/** A model's tool call as an Anthropic `tool_use` block. */
export interface ToolUseBlock {
  readonly type: 'tool_use';
  readonly id: string;
  readonly name: string;
  /** The parsed arguments, or the model's text when it was not a JSON object (for the tool to report). */
  readonly input: Readonly<Record<string, unknown>> | string;
}

/**
 * The calls of a neutral answer as Anthropic `tool_use` blocks: the shape a
 * tool registry's `handleToolCalls` takes whichever provider answered, and
 * the one whose results keep `is_error`.
 */
export function toolUseBlocks(calls: readonly ToolCall[]): ToolUseBlock[] {
  return calls.map((c) => ({
    type: 'tool_use',
    id: c.id,
    name: c.name,
    input: c.rawArguments ?? c.arguments,
  }));
}

/**
 * Tool results as neutral messages, ready for the next request to any
 * provider. Takes Anthropic `tool_result` blocks (with `is_error`) or OpenAI
 * chat `{ role: 'tool', tool_call_id, content }` messages; anything else is
 * skipped.
 */
export function toolResultMessages(results: readonly unknown[]): ToolResultMessage[] {
  const out: ToolResultMessage[] = [];
  for (const r of results) {
    if (!isRecord(r)) continue;
    const content = typeof r.content === 'string' ? r.content : JSON.stringify(r.content ?? '');
    if (r.type === 'tool_result' && typeof r.tool_use_id === 'string') {
      out.push({
        role: 'tool',
        toolCallId: r.tool_use_id,
        content,
        ...(r.is_error === true ? { isError: true } : {}),
      });
    } else if (r.role === 'tool' && typeof r.tool_call_id === 'string') {
      out.push({ role: 'tool', toolCallId: r.tool_call_id, content });
    }
  }
  return out;
}

export { isRecord };
