import { toolCallFromText } from './tools.js';
import type { ChatChunk, ChatResponse, FinishReason, ToolCall, Usage } from './types.js';

/** A tool call as far as it was streamed: its arguments may be cut off mid-JSON. */
export interface PartialToolCall {
  readonly id: string;
  readonly name: string;
  readonly argumentsText: string;
}

/** What a stream had delivered when it broke. */
export interface PartialAnswer {
  readonly text: string;
  readonly toolCalls: readonly PartialToolCall[];
}

/** A provider's answer id, when it is a sane one (it becomes a span attribute). */
export function responseId(id: unknown): { id?: string } {
  return typeof id === 'string' && id.length > 0 && id.length <= 128 ? { id } : {};
}

/** Builds the whole answer from streamed chunks, for the `finish` chunk and for an interrupted stream. */
export class Assembler {
  private text = '';
  private readonly calls: Array<{ id: string; name: string; args: string }> = [];
  usage: Usage | undefined;

  add(chunk: ChatChunk): void {
    switch (chunk.type) {
      case 'text':
        this.text += chunk.text;
        break;
      case 'tool_call_start':
        this.calls[chunk.index] = { id: chunk.id, name: chunk.name, args: '' };
        break;
      case 'tool_call_delta': {
        const c = this.calls[chunk.index];
        if (c) c.args += chunk.argumentsDelta;
        break;
      }
      case 'usage':
        this.usage = chunk.usage;
        break;
      case 'finish':
        break;
    }
  }

  partial(): PartialAnswer {
    return {
      text: this.text,
      toolCalls: this.calls
        .filter((c) => c !== undefined)
        .map((c) => ({ id: c.id, name: c.name, argumentsText: c.args })),
    };
  }

  response(provider: string, model: string, finishReason: FinishReason, id?: string): ChatResponse {
    const toolCalls: ToolCall[] = this.calls
      .filter((c) => c !== undefined)
      .map((c) => toolCallFromText(c.id, c.name, c.args));
    return {
      provider,
      model,
      ...(id !== undefined ? { id } : {}),
      message: {
        role: 'assistant',
        content: this.text,
        ...(toolCalls.length > 0 ? { toolCalls } : {}),
      },
      toolCalls,
      finishReason,
      usage: this.usage,
    };
  }
}
