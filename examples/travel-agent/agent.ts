/**
 * The agent loop, as plain as it gets: ask the model; run the tools it asks
 * for; give it the results; repeat until it answers in words. Everything
 * that can fail lives behind `chat` and `runTools`, which is where the
 * demo puts either breakwater or a naive retry wrapper.
 */
import type {
  ChatMessage,
  ChatRequest,
  ChatResponse,
  ToolCall,
  ToolResultMessage,
  ToolsInput,
} from 'breakwater';

export interface AgentHooks {
  /** A model turn is about to be asked for. */
  turn?(turn: number): void;
  /** The model answered: tool calls, or the final words. */
  answered?(turn: number, response: ChatResponse): void;
  /** No provider could answer. */
  gaveUp?(turn: number, error: unknown): void;
}

export interface AgentOptions {
  readonly chat: (request: ChatRequest, options: { signal: AbortSignal }) => Promise<ChatResponse>;
  readonly runTools: (calls: readonly ToolCall[], signal: AbortSignal) => Promise<ToolResultMessage[]>;
  readonly tools: ToolsInput;
  readonly system: string;
  readonly user: string;
  /** A model that never stops calling tools is a bug, not a reason to run forever. */
  readonly maxTurns?: number;
  readonly signal: AbortSignal;
  readonly hooks?: AgentHooks;
}

export interface AgentResult {
  readonly messages: readonly ChatMessage[];
  /** The model's final words, if it got that far. */
  readonly answer: string | undefined;
  readonly turns: number;
  readonly error: unknown;
}

export async function runAgent(o: AgentOptions): Promise<AgentResult> {
  const messages: ChatMessage[] = [{ role: 'user', content: o.user }];
  const maxTurns = o.maxTurns ?? 12;
  for (let turn = 1; turn <= maxTurns; turn++) {
    o.hooks?.turn?.(turn);
    let response: ChatResponse;
    try {
      response = await o.chat(
        { system: o.system, messages, tools: o.tools, maxTokens: 1_024 },
        { signal: o.signal },
      );
    } catch (error) {
      o.hooks?.gaveUp?.(turn, error);
      return { messages, answer: undefined, turns: turn, error };
    }
    o.hooks?.answered?.(turn, response);
    messages.push(response.message);
    if (response.toolCalls.length === 0)
      return { messages, answer: response.message.content, turns: turn, error: undefined };
    messages.push(...(await o.runTools(response.toolCalls, o.signal)));
  }
  return {
    messages,
    answer: undefined,
    turns: maxTurns,
    error: new Error(`no answer after ${maxTurns} turns`),
  };
}

/** Whether the conversation holds a successful result of `tool`. */
export function succeeded(messages: readonly ChatMessage[], tool: string): boolean {
  const ids = new Set<string>();
  for (const m of messages) {
    if (m.role === 'assistant') for (const c of m.toolCalls ?? []) if (c.name === tool) ids.add(c.id);
    if (m.role === 'tool' && ids.has(m.toolCallId) && !m.isError) return true;
  }
  return false;
}
