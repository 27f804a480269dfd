import { InvalidInputError } from '../failure/errors.js';
import type { JsonSchema, ToolCall, ToolDefinition, ToolsInput } from './types.js';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(path: string, message: string): InvalidInputError {
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
export function normaliseToolDefinition(value: unknown, path = 'tools'): ToolDefinition {
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
  return list.map((t, i) => normaliseToolDefinition(t, `tools[${i}]`));
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

/** The JSON text of a call's arguments, as the model wrote it when it was malformed. */
export function toolArgumentsText(call: ToolCall): string {
  return call.rawArguments ?? JSON.stringify(call.arguments);
}

export { isRecord };
