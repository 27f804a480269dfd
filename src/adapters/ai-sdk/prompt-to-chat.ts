import type { InvalidInputError } from '../../failure/errors.js';
import { isRecord, toolCallFromInput } from '../../providers/tools.js';
import type {
  ChatMessage,
  ChatRequest,
  JsonSchema,
  ToolCall,
  ToolChoice,
  ToolDefinition,
} from '../../providers/types.js';
import { unroutable } from '../shared/unroutable.js';
import type { AiSdkCallOptionsRead, AiSdkPromptPartRead, AiSdkWarning } from './spec.js';

function unsupported(path: string, what: string): InvalidInputError {
  return unroutable(path, what, 'text, tool calls and tool results');
}

function describePart(part: AiSdkPromptPartRead): string {
  if (part.type === 'file') return `a file part${part.mediaType ? ` (${part.mediaType})` : ''}`;
  if (part.providerExecuted === true) return `a provider-executed ${part.type} part`;
  return `a ${part.type} part`;
}

/** A tool's output as the text a model reads, and whether it reports a failure. */
function toolOutput(part: AiSdkPromptPartRead, path: string): { content: string; isError: boolean } {
  const out = part.output;
  switch (out?.type) {
    case 'text':
      return { content: String(out.value ?? ''), isError: false };
    case 'error-text':
      return { content: String(out.value ?? ''), isError: true };
    case 'json':
      return { content: JSON.stringify(out.value ?? null), isError: false };
    case 'error-json':
      return { content: JSON.stringify(out.value ?? null), isError: true };
    case 'execution-denied':
      return { content: `Tool execution denied${out.reason ? `: ${out.reason}` : '.'}`, isError: true };
    case 'content': {
      const items: readonly unknown[] = Array.isArray(out.value) ? out.value : [];
      let text = '';
      for (const [k, item] of items.entries()) {
        if (!isRecord(item) || item.type !== 'text' || typeof item.text !== 'string')
          throw unsupported(
            `${path}.output.value[${k}]`,
            `a ${isRecord(item) ? String(item.type) : 'non-text'} tool output`,
          );
        text += item.text;
      }
      return { content: text, isError: false };
    }
    default:
      throw unsupported(`${path}.output`, `a ${String(out?.type)} tool output`);
  }
}

function parts(content: AiSdkCallOptionsRead['prompt'][number]['content']): readonly AiSdkPromptPartRead[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content;
}

/** The prompt's messages in neutral form; system messages are gathered into one system text. */
function messages(prompt: AiSdkCallOptionsRead['prompt']): { system: string[]; messages: ChatMessage[] } {
  const system: string[] = [];
  const out: ChatMessage[] = [];
  for (const [i, m] of prompt.entries()) {
    switch (m.role) {
      case 'system':
        system.push(
          typeof m.content === 'string'
            ? m.content
            : parts(m.content)
                .map((p) => p.text ?? '')
                .join(''),
        );
        break;
      case 'user': {
        let text = '';
        for (const [j, p] of parts(m.content).entries()) {
          if (p.type !== 'text') throw unsupported(`prompt[${i}].content[${j}]`, describePart(p));
          text += p.text ?? '';
        }
        out.push({ role: 'user', content: text });
        break;
      }
      case 'assistant': {
        let text = '';
        const calls: ToolCall[] = [];
        for (const [j, p] of parts(m.content).entries()) {
          if (p.type === 'text') text += p.text ?? '';
          // The model's own reasoning from an earlier step: not conversation, and no provider takes it back as text.
          else if (p.type === 'reasoning') continue;
          else if (p.type === 'tool-call' && p.providerExecuted !== true)
            calls.push(toolCallFromInput(p.toolCallId ?? '', p.toolName ?? '', p.input));
          else throw unsupported(`prompt[${i}].content[${j}]`, describePart(p));
        }
        out.push({ role: 'assistant', content: text, ...(calls.length > 0 ? { toolCalls: calls } : {}) });
        break;
      }
      case 'tool':
        for (const [j, p] of parts(m.content).entries()) {
          const path = `prompt[${i}].content[${j}]`;
          if (p.type !== 'tool-result') throw unsupported(path, describePart(p));
          const { content, isError } = toolOutput(p, path);
          out.push({
            role: 'tool',
            toolCallId: p.toolCallId ?? '',
            ...(p.toolName ? { toolName: p.toolName } : {}),
            content,
            ...(isError ? { isError: true } : {}),
          });
        }
        break;
      default:
        throw unsupported(`prompt[${i}].role`, `a message of role "${String(m.role)}"`);
    }
  }
  return { system, messages: out };
}

function tools(options: AiSdkCallOptionsRead): ToolDefinition[] | undefined {
  if (options.tools === undefined || options.tools.length === 0) return undefined;
  return options.tools.map((t, i) => {
    if (t.type !== 'function') throw unsupported(`tools[${i}]`, `the provider tool "${t.name}"`);
    const schema = t.inputSchema;
    return {
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
      parameters: isRecord(schema) ? (schema as JsonSchema) : { type: 'object', properties: {} },
    };
  });
}

function toolChoice(choice: AiSdkCallOptionsRead['toolChoice']): ToolChoice | undefined {
  switch (choice?.type) {
    case 'auto':
    case 'none':
    case 'required':
      return choice.type;
    case 'tool':
      return choice.toolName !== undefined ? { name: choice.toolName } : undefined;
    default:
      return undefined;
  }
}

/** Settings the neutral chat has no word for: sent on as warnings, as a provider package does. */
const UNSUPPORTED_SETTINGS = ['topP', 'topK', 'presencePenalty', 'frequencyPenalty', 'seed'] as const;

/**
 * What `generateText` / `streamText` ask of a model, as a neutral request for
 * the router. Text, tool calls and tool results (text, JSON, errors, denials)
 * are carried; an image or file, a provider-executed tool or a provider tool
 * is refused with `InvalidInputError` naming the part (`prompt[2].content[1]`),
 * because a deployment could not be told about it. Settings the neutral chat
 * lacks come back as warnings.
 */
export function chatRequestFromPrompt(options: AiSdkCallOptionsRead): {
  request: ChatRequest;
  warnings: AiSdkWarning[];
} {
  const { system, messages: msgs } = messages(options.prompt);
  const defs = tools(options);
  const choice = defs ? toolChoice(options.toolChoice) : undefined;
  const request: ChatRequest = {
    ...(system.length > 0 ? { system: system.join('\n\n') } : {}),
    messages: msgs,
    ...(defs ? { tools: defs } : {}),
    ...(choice !== undefined ? { toolChoice: choice } : {}),
    ...(options.maxOutputTokens !== undefined ? { maxTokens: options.maxOutputTokens } : {}),
    ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
    ...(options.stopSequences !== undefined && options.stopSequences.length > 0
      ? { stop: [...options.stopSequences] }
      : {}),
  };
  const warnings: AiSdkWarning[] = [];
  for (const setting of UNSUPPORTED_SETTINGS)
    if (options[setting] !== undefined) warnings.push({ type: 'unsupported', feature: setting });
  if (options.responseFormat !== undefined && options.responseFormat.type !== 'text')
    warnings.push({
      type: 'unsupported',
      feature: 'responseFormat',
      details: 'JSON output is not enforced; the text is parsed as the model wrote it',
    });
  return { request, warnings };
}
