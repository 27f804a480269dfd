import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/failure/index.js';
import {
  type ChatRequest,
  createRouter,
  fromAnthropicResponse,
  fromOpenAIResponse,
  normalizeToolDefinition,
  type Provider,
  toAnthropicRequest,
  toOpenAIRequest,
} from '../../src/providers/index.js';

const schema = { type: 'object', properties: { q: { type: 'string' } } };

describe('tool definitions', () => {
  it('accepts the neutral, OpenAI and Anthropic shapes alike', () => {
    const want = { name: 'search', description: 'Find things', parameters: schema };
    expect(normalizeToolDefinition(want)).toEqual(want);
    expect(
      normalizeToolDefinition({
        type: 'function',
        function: { name: 'search', description: 'Find things', parameters: schema, strict: true },
      }),
    ).toEqual(want);
    expect(
      normalizeToolDefinition({ name: 'search', description: 'Find things', input_schema: schema }),
    ).toEqual(want);
  });

  it('refuses a definition without a name before any request is made', async () => {
    expect(() => normalizeToolDefinition({ description: 'nameless' })).toThrow(InvalidInputError);
    let called = false;
    const provider: Provider = {
      name: 'fake',
      model: 'm',
      chat: async (req) => {
        called = true;
        toOpenAIRequest(req, 'm');
        throw new Error('unreachable');
      },
      stream: () => {
        throw new Error('unused');
      },
    };
    const other: Provider = { ...provider, name: 'other' };
    const router = createRouter({ providers: [provider, other] });
    const err = await router
      .chat({ messages: [{ role: 'user', content: 'hi' }], tools: [{ name: '', parameters: {} }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).issues).toEqual([
      { path: 'tools[0].name', message: 'expected a tool name' },
    ]);
    expect(called).toBe(false);
  });
});

describe('requests', () => {
  const request: ChatRequest = {
    system: 'Be brief.',
    messages: [
      { role: 'user', content: 'Find flights' },
      { role: 'user', content: 'to Lisbon' },
      {
        role: 'assistant',
        content: '',
        toolCalls: [
          { id: 'call.1/x', name: 'search', arguments: { q: 'LIS' } },
          { id: 'call_2', name: 'search', arguments: {}, rawArguments: '{"q": "LI' },
        ],
      },
      { role: 'tool', toolCallId: 'call.1/x', content: '3 flights' },
      { role: 'tool', toolCallId: 'call_2', content: 'bad arguments', isError: true },
      { role: 'assistant', content: '' },
      { role: 'user', content: 'Cheapest?' },
    ],
    tools: [{ name: 'search', parameters: schema }],
    toolChoice: 'required',
    maxTokens: 100,
    temperature: 0.2,
    stop: ['END'],
  };

  it('in OpenAI words: system first, tool_calls with the model’s own argument text, role tool', () => {
    expect(toOpenAIRequest(request, 'gpt', { maxTokensField: 'max_tokens' })).toEqual({
      model: 'gpt',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Find flights' },
        { role: 'user', content: 'to Lisbon' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call.1/x', type: 'function', function: { name: 'search', arguments: '{"q":"LIS"}' } },
            { id: 'call_2', type: 'function', function: { name: 'search', arguments: '{"q": "LI' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call.1/x', content: '3 flights' },
        { role: 'tool', tool_call_id: 'call_2', content: 'Error: bad arguments' },
        { role: 'assistant', content: '' },
        { role: 'user', content: 'Cheapest?' },
      ],
      tools: [{ type: 'function', function: { name: 'search', parameters: schema } }],
      tool_choice: 'required',
      max_tokens: 100,
      temperature: 0.2,
      stop: ['END'],
    });
    expect(toOpenAIRequest(request, 'gpt').max_completion_tokens).toBe(100);
  });

  it('in Anthropic words: turns merged and alternating, ids made valid, results with is_error', () => {
    expect(toAnthropicRequest(request, 'claude')).toEqual({
      model: 'claude',
      max_tokens: 100,
      system: 'Be brief.',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Find flights' },
            { type: 'text', text: 'to Lisbon' },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'tool_use', id: 'bwx_Y2FsbC4xL3g', name: 'search', input: { q: 'LIS' } },
            { type: 'tool_use', id: 'call_2', name: 'search', input: {} },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'bwx_Y2FsbC4xL3g', content: '3 flights' },
            { type: 'tool_result', tool_use_id: 'call_2', content: 'bad arguments', is_error: true },
            { type: 'text', text: 'Cheapest?' },
          ],
        },
      ],
      tools: [{ name: 'search', input_schema: schema }],
      tool_choice: { type: 'any' },
      temperature: 0.2,
      stop_sequences: ['END'],
    });
  });

  it('maps every tool choice', () => {
    const base: ChatRequest = {
      messages: [{ role: 'user', content: 'x' }],
      tools: [{ name: 't', parameters: {} }],
    };
    const pairs = [
      ['auto', 'auto', { type: 'auto' }],
      ['none', 'none', { type: 'none' }],
      ['required', 'required', { type: 'any' }],
      [{ name: 't' }, { type: 'function', function: { name: 't' } }, { type: 'tool', name: 't' }],
    ] as const;
    for (const [choice, openai, anthropic] of pairs) {
      expect(toOpenAIRequest({ ...base, toolChoice: choice }, 'm').tool_choice).toEqual(openai);
      expect(toAnthropicRequest({ ...base, toolChoice: choice }, 'm').tool_choice).toEqual(anthropic);
    }
    expect(toAnthropicRequest(base, 'm', { defaultMaxTokens: 2048 }).max_tokens).toBe(2048);
  });
});

describe('responses', () => {
  it('keeps a model’s malformed tool arguments instead of throwing', () => {
    const res = fromOpenAIResponse(
      {
        model: 'gpt',
        choices: [
          {
            message: {
              content: null,
              tool_calls: [{ id: 'c1', type: 'function', function: { name: 'search', arguments: '{"q": ' } }],
            },
            finish_reason: 'tool_calls',
          },
        ],
      },
      'openai',
      'gpt',
    );
    expect(res.toolCalls).toEqual([{ id: 'c1', name: 'search', arguments: {}, rawArguments: '{"q": ' }]);
    expect(res.message).toEqual({ role: 'assistant', content: '', toolCalls: res.toolCalls });
    expect(res.usage).toBeUndefined();
  });

  it('reports a refusal as such', () => {
    const res = fromOpenAIResponse(
      {
        choices: [{ message: { content: null, refusal: 'I cannot help with that.' }, finish_reason: 'stop' }],
      },
      'openai',
      'gpt',
    );
    expect(res.finishReason).toBe('refusal');
    expect(res.message.content).toBe('I cannot help with that.');
    expect(res.model).toBe('gpt');
  });

  it('counts cached input tokens as input on Anthropic', () => {
    const res = fromAnthropicResponse(
      {
        model: 'claude',
        content: [{ type: 'text', text: 'Hi' }],
        stop_reason: 'max_tokens',
        usage: {
          input_tokens: 10,
          cache_read_input_tokens: 90,
          cache_creation_input_tokens: 5,
          output_tokens: 7,
        },
      },
      'anthropic',
      'claude',
    );
    expect(res.finishReason).toBe('length');
    expect(res.usage).toEqual({ inputTokens: 105, outputTokens: 7, totalTokens: 112 });
  });

  it('treats an answer that is not a chat completion as a malformed, retryable failure', () => {
    expect(() => fromOpenAIResponse('<html>bad gateway</html>', 'openai', 'gpt')).toThrow(
      /malformed response/,
    );
    try {
      fromAnthropicResponse({ type: 'error' }, 'anthropic', 'claude');
    } catch (err) {
      expect((err as { failure: { kind: string; delivery: string } }).failure).toMatchObject({
        kind: 'server_error',
        delivery: 'unknown',
      });
    }
  });
});
