import { resolveTools } from '../../providers/tools.js';
import type { ChatRequest, ToolChoice } from '../../providers/types.js';
import type {
  AiSdkCallOptions,
  AiSdkMessage,
  AiSdkToolCallPart,
  AiSdkToolChoice,
  AiSdkToolResultPart,
} from './spec.js';

function toolChoice(choice: ToolChoice): AiSdkToolChoice {
  return typeof choice === 'string' ? { type: choice } : { type: 'tool', toolName: choice.name };
}

/**
 * A neutral request in the AI SDK's prompt form, for a wrapped model's
 * `doGenerate` / `doStream`. Tool results that follow each other become one
 * `tool` message, as the AI SDK itself sends them; a result without its tool's
 * name takes it from the call it answers.
 */
export function toAiSdkCallOptions(request: ChatRequest): AiSdkCallOptions {
  const prompt: AiSdkMessage[] = [];
  if (request.system !== undefined && request.system !== '')
    prompt.push({ role: 'system', content: request.system });
  const names = new Map<string, string>();
  let results: AiSdkToolResultPart[] | undefined;
  for (const m of request.messages) {
    if (m.role !== 'tool') results = undefined;
    switch (m.role) {
      case 'user':
        prompt.push({ role: 'user', content: [{ type: 'text', text: m.content }] });
        break;
      case 'assistant': {
        const calls: AiSdkToolCallPart[] = (m.toolCalls ?? []).map((c) => {
          names.set(c.id, c.name);
          // The model's own text when its arguments were not a JSON object: the next model sees what was said.
          return {
            type: 'tool-call',
            toolCallId: c.id,
            toolName: c.name,
            input: c.rawArguments ?? c.arguments,
          };
        });
        prompt.push({
          role: 'assistant',
          content: [...(m.content !== '' ? [{ type: 'text' as const, text: m.content }] : []), ...calls],
        });
        break;
      }
      case 'tool': {
        const part: AiSdkToolResultPart = {
          type: 'tool-result',
          toolCallId: m.toolCallId,
          toolName: m.toolName ?? names.get(m.toolCallId) ?? '',
          output: m.isError ? { type: 'error-text', value: m.content } : { type: 'text', value: m.content },
        };
        if (results === undefined) {
          results = [part];
          prompt.push({ role: 'tool', content: results });
        } else results.push(part);
        break;
      }
    }
  }
  const options: AiSdkCallOptions = { prompt };
  const tools = resolveTools(request.tools, 'openai');
  if (tools && tools.length > 0) {
    options.tools = tools.map((t) => ({
      type: 'function',
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
      inputSchema: { ...t.parameters },
    }));
    if (request.toolChoice !== undefined) options.toolChoice = toolChoice(request.toolChoice);
  }
  if (request.maxTokens !== undefined) options.maxOutputTokens = request.maxTokens;
  if (request.temperature !== undefined) options.temperature = request.temperature;
  if (request.stop !== undefined && request.stop.length > 0) options.stopSequences = [...request.stop];
  return options;
}
