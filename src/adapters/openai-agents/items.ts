import type {
  AgentInputItem,
  AssistantMessageItem,
  FunctionCallItem,
  ModelRequest,
  ModelSettingsToolChoice,
  SerializedTool,
} from '@openai/agents';
import type { InvalidInputError } from '../../failure/errors.js';
import { isRecord, toolArgumentsText, toolCallFromText } from '../../providers/tools.js';
import type {
  AssistantMessage,
  ChatMessage,
  ChatRequest,
  ChatResponse,
  JsonSchema,
  ToolCall,
  ToolChoice,
  ToolDefinition,
} from '../../providers/types.js';
import { unroutable } from '../shared/unroutable.js';

function unsupported(path: string, what: string): InvalidInputError {
  return unroutable(path, what, 'text, function calls and their results');
}

/** Text parts joined; any other part refused by its path. */
function textOf(
  content:
    | string
    | ReadonlyArray<{ readonly type: string; readonly text?: string; readonly refusal?: string }>,
  path: string,
  kinds: readonly string[],
): string {
  if (typeof content === 'string') return content;
  let text = '';
  for (const [j, part] of content.entries()) {
    if (!kinds.includes(part.type)) throw unsupported(`${path}.content[${j}]`, `a part of type ${part.type}`);
    text += part.text ?? part.refusal ?? '';
  }
  return text;
}

/** A function tool's output as the text a model reads. */
function outputText(output: unknown, path: string): string {
  if (typeof output === 'string') return output;
  if (Array.isArray(output)) {
    let text = '';
    for (const [k, item] of output.entries()) {
      if (!isRecord(item) || item.type !== 'input_text' || typeof item.text !== 'string')
        throw unsupported(
          `${path}.output[${k}]`,
          `a ${isRecord(item) ? String(item.type) : 'non-text'} tool output`,
        );
      text += item.text;
    }
    return text;
  }
  if (isRecord(output) && output.type === 'text' && typeof output.text === 'string') return output.text;
  throw unsupported(`${path}.output`, `a ${isRecord(output) ? String(output.type) : 'non-text'} tool output`);
}

/**
 * The run's items in neutral form. A function call joins the assistant turn
 * before it (the Responses API lists a turn's text and its calls as separate
 * items; the chat form keeps them in one message), and a reasoning item is
 * left out: no provider takes another's reasoning back as text.
 */
function messages(input: ModelRequest['input']): { system: string[]; messages: ChatMessage[] } {
  if (typeof input === 'string') return { system: [], messages: [{ role: 'user', content: input }] };
  const system: string[] = [];
  const out: ChatMessage[] = [];
  let turn: { content: string; toolCalls: ToolCall[] } | undefined;
  const flush = () => {
    if (turn === undefined) return;
    const message: AssistantMessage = {
      role: 'assistant',
      content: turn.content,
      ...(turn.toolCalls.length > 0 ? { toolCalls: turn.toolCalls } : {}),
    };
    out.push(message);
    turn = undefined;
  };
  for (const [i, item] of (input as readonly AgentInputItem[]).entries()) {
    const path = `input[${i}]`;
    if (item.type === 'reasoning') continue;
    if (item.type === 'function_call') {
      turn ??= { content: '', toolCalls: [] };
      turn.toolCalls.push(toolCallFromText(item.callId, item.name, item.arguments));
      continue;
    }
    if ((item.type === undefined || item.type === 'message') && 'role' in item && item.role === 'assistant') {
      flush();
      turn = { content: textOf(item.content, path, ['output_text', 'refusal']), toolCalls: [] };
      continue;
    }
    flush();
    if (item.type === 'function_call_result') {
      out.push({
        role: 'tool',
        toolCallId: item.callId,
        toolName: item.name,
        content: outputText(item.output, path),
      });
    } else if (
      (item.type === undefined || item.type === 'message') &&
      'role' in item &&
      item.role === 'user'
    ) {
      out.push({ role: 'user', content: textOf(item.content, path, ['input_text']) });
    } else if (
      (item.type === undefined || item.type === 'message') &&
      'role' in item &&
      item.role === 'system'
    ) {
      system.push(item.content);
    } else {
      throw unsupported(path, `a ${String(item.type)} item`);
    }
  }
  flush();
  return { system, messages: out };
}

function tools(request: ModelRequest): ToolDefinition[] {
  const defs: ToolDefinition[] = request.tools.map((t: SerializedTool, i) => {
    if (t.type !== 'function') throw unsupported(`tools[${i}]`, `the ${t.type} tool "${t.name}"`);
    return {
      name: t.name,
      description: t.description,
      parameters: (isRecord(t.parameters) ? t.parameters : { type: 'object', properties: {} }) as JsonSchema,
    };
  });
  // A handoff is, to the model, one more function to call.
  for (const h of request.handoffs)
    defs.push({
      name: h.toolName,
      description: h.toolDescription,
      parameters: (isRecord(h.inputJsonSchema)
        ? h.inputJsonSchema
        : { type: 'object', properties: {} }) as JsonSchema,
    });
  return defs;
}

function toolChoice(choice: ModelSettingsToolChoice | undefined): ToolChoice | undefined {
  if (choice === undefined) return undefined;
  const named: string = choice;
  return named === 'auto' || named === 'required' || named === 'none' ? named : { name: named };
}

/**
 * An Agents SDK model request as a neutral request for the router: the
 * instructions, the run's items, the function tools and handoffs, the tool
 * choice, `maxTokens` and `temperature`. What only the Responses API can do
 * (hosted tools, images and files, structured output, server-side
 * conversation state, prompt templates) is refused with `InvalidInputError`
 * naming the field.
 */
export function chatRequestFromModelRequest(request: ModelRequest): ChatRequest {
  if (request.previousResponseId !== undefined)
    throw unsupported('previousResponseId', 'server-side conversation state');
  if (request.conversationId !== undefined)
    throw unsupported('conversationId', 'server-side conversation state');
  if (request.prompt !== undefined) throw unsupported('prompt', 'a prompt template');
  if (request.outputType !== 'text') throw unsupported('outputType', 'structured output (a JSON schema)');
  const { system, messages: msgs } = messages(request.input);
  if (request.systemInstructions !== undefined && request.systemInstructions !== '')
    system.unshift(request.systemInstructions);
  const defs = tools(request);
  const settings = request.modelSettings;
  const choice = defs.length > 0 ? toolChoice(settings.toolChoice) : undefined;
  return {
    ...(system.length > 0 ? { system: system.join('\n\n') } : {}),
    messages: msgs,
    ...(defs.length > 0 ? { tools: defs } : {}),
    ...(choice !== undefined ? { toolChoice: choice } : {}),
    ...(settings.maxTokens !== undefined ? { maxTokens: settings.maxTokens } : {}),
    ...(settings.temperature !== undefined ? { temperature: settings.temperature } : {}),
  };
}

/** A neutral answer as the items the Agents SDK runs on: the assistant's text, then its function calls. */
export function outputItems(response: ChatResponse): Array<AssistantMessageItem | FunctionCallItem> {
  const items: Array<AssistantMessageItem | FunctionCallItem> = [];
  const id = response.id;
  if (response.message.content !== '')
    items.push({
      ...(id !== undefined ? { id } : {}),
      type: 'message',
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text: response.message.content }],
    });
  for (const c of response.toolCalls)
    items.push({
      ...(id !== undefined ? { id } : {}),
      type: 'function_call',
      callId: c.id,
      name: c.name,
      arguments: toolArgumentsText(c),
      status: 'completed',
    });
  return items;
}
