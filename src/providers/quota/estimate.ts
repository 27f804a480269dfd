import type { ChatRequest, EmbedRequest, ToolsInput } from '../types.js';

/**
 * What a request is counted as before it is sent, when it sets no
 * `maxTokens`. Providers reserve the requested output against the tokens
 * window at admission (OpenAI counts `max_tokens` then); with no limit given
 * there is nothing to read, and a typical answer is shorter than this.
 */
export const DEFAULT_OUTPUT_TOKENS = 1_024;

/** English text and JSON average about four characters per token in OpenAI's and Anthropic's tokenizers. */
const CHARS_PER_TOKEN = 4;

/** Each message costs a few tokens of framing (role, separators) beyond its text. */
const TOKENS_PER_MESSAGE = 4;

function toolsText(tools: ToolsInput | undefined): number {
  if (tools === undefined) return 0;
  try {
    const list: readonly unknown[] = Array.isArray(tools)
      ? tools
      : (tools as Extract<ToolsInput, { definitions: unknown }>).definitions('openai');
    return JSON.stringify(list)?.length ?? 0;
  } catch {
    // A tool list that cannot be read is the provider's to refuse, with a better message than ours.
    return 0;
  }
}

/**
 * A cheap estimate of the tokens a request will be counted for: the
 * characters of the system prompt, the messages (text, tool-call arguments,
 * tool results) and the tool definitions, divided by four, plus a few tokens
 * per message, plus `maxTokens` (or `DEFAULT_OUTPUT_TOKENS`) for the answer.
 *
 * Not a real tokenizer, on purpose: the estimate runs before every call and
 * must cost microseconds, need no model-specific vocabulary (tiktoken's is
 * megabytes, Anthropic publishes none), and only has to be close enough to
 * pace by; the provider's headers correct it on every response, and the
 * real usage replaces it once the answer arrives.
 */
export function estimateTokens(request: ChatRequest): number {
  let chars = request.system?.length ?? 0;
  for (const m of request.messages) {
    chars += m.content.length;
    if (m.role === 'assistant')
      for (const c of m.toolCalls ?? [])
        chars += c.name.length + (c.rawArguments?.length ?? JSON.stringify(c.arguments).length);
  }
  chars += toolsText(request.tools);
  // OpenAI sends the system prompt as one more message, framing included.
  const framed = request.messages.length + (request.system ? 1 : 0);
  const input = Math.ceil(chars / CHARS_PER_TOKEN) + TOKENS_PER_MESSAGE * framed;
  const output =
    request.maxTokens !== undefined && Number.isFinite(request.maxTokens) && request.maxTokens >= 0
      ? Math.ceil(request.maxTokens)
      : DEFAULT_OUTPUT_TOKENS;
  return input + output;
}

/**
 * The same estimate for an embeddings request: the characters of its inputs
 * divided by four. No output is counted: an embedding's answer is a vector,
 * not tokens, and providers count embeddings by their input alone.
 */
export function estimateEmbedTokens(request: EmbedRequest): number {
  const inputs = typeof request.input === 'string' ? [request.input] : request.input;
  let tokens = 0;
  for (const text of inputs) tokens += Math.ceil(text.length / CHARS_PER_TOKEN);
  return tokens;
}
