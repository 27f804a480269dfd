/** The token estimate: characters over four, per-message framing, and the requested output. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_OUTPUT_TOKENS, estimateTokens } from '../../../src/providers/quota/index.js';
import type { ChatRequest } from '../../../src/providers/types.js';

describe('estimateTokens', () => {
  it('counts system and message text at four characters a token, four tokens per message (the system prompt is one), plus maxTokens', () => {
    const request: ChatRequest = {
      system: 'x'.repeat(400),
      messages: [
        { role: 'user', content: 'y'.repeat(800) },
        { role: 'assistant', content: 'z'.repeat(4) },
      ],
      maxTokens: 50,
    };
    expect(estimateTokens(request)).toBe(100 + 200 + 1 + 3 * 4 + 50);
  });

  it('counts tool definitions, tool-call arguments and tool results', () => {
    const bare: ChatRequest = { messages: [{ role: 'user', content: 'go' }], maxTokens: 0 };
    const tools = [{ name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } }];
    const withTools = { ...bare, tools };
    expect(estimateTokens(withTools) - estimateTokens(bare)).toBe(
      Math.ceil(JSON.stringify(tools).length / 4),
    );
    const loop: ChatRequest = {
      maxTokens: 0,
      messages: [
        { role: 'user', content: '' },
        {
          role: 'assistant',
          content: '',
          toolCalls: [{ id: 'c1', name: 'abcd', arguments: { q: 'x'.repeat(100) } }],
        },
        { role: 'tool', toolCallId: 'c1', content: 'r'.repeat(40) },
      ],
    };
    const args = JSON.stringify({ q: 'x'.repeat(100) }).length;
    expect(estimateTokens(loop)).toBe(Math.ceil((4 + args + 40) / 4) + 3 * 4);
  });

  it('reads a tool source (a registry) in OpenAI form, and survives one that throws', () => {
    const source = { definitions: () => [{ type: 'function', function: { name: 'f', parameters: {} } }] };
    const request: ChatRequest = { messages: [], tools: source, maxTokens: 0 };
    expect(estimateTokens(request)).toBe(Math.ceil(JSON.stringify(source.definitions()).length / 4));
    const broken = {
      definitions: () => {
        throw new Error('no');
      },
    };
    expect(estimateTokens({ messages: [], tools: broken, maxTokens: 0 })).toBe(0);
  });

  it('assumes DEFAULT_OUTPUT_TOKENS when the request sets no maxTokens', () => {
    expect(estimateTokens({ messages: [] })).toBe(DEFAULT_OUTPUT_TOKENS);
    expect(estimateTokens({ messages: [], maxTokens: Number.NaN })).toBe(DEFAULT_OUTPUT_TOKENS);
  });
});
