import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toAiSdkCallOptions } from '../../../src/adapters/ai-sdk/chat-to-prompt.js';
import { chatRequestFromPrompt } from '../../../src/adapters/ai-sdk/prompt-to-chat.js';
import type { AiSdkCallOptionsRead } from '../../../src/ai-sdk.js';
import type { ChatMessage, ChatRequest, ToolCall } from '../../../src/providers/index.js';

const text = fc.string({ maxLength: 12 });
const id = fc.stringMatching(/^call_[a-z0-9]{1,6}$/);
const name = fc.constantFrom('get_weather', 'book_hotel', 'search');

const toolCall: fc.Arbitrary<ToolCall> = fc.oneof(
  fc.record({
    id,
    name,
    arguments: fc.dictionary(fc.constantFrom('city', 'n'), fc.oneof(text, fc.integer())),
  }),
  // What a model wrote when it was not a JSON object: kept as text.
  fc.record({
    id,
    name,
    arguments: fc.constant({}),
    rawArguments: fc.constantFrom('{"city":', 'not json', '[1]'),
  }),
);

const message: fc.Arbitrary<ChatMessage> = fc.oneof(
  fc.record({ role: fc.constant('user' as const), content: text }),
  fc.record({ role: fc.constant('assistant' as const), content: text }),
  fc.record({
    role: fc.constant('assistant' as const),
    content: text,
    toolCalls: fc.array(toolCall, { minLength: 1, maxLength: 3 }),
  }),
  fc.record({ role: fc.constant('tool' as const), toolCallId: id, toolName: name, content: text }),
  fc.record({
    role: fc.constant('tool' as const),
    toolCallId: id,
    toolName: name,
    content: text,
    isError: fc.constant(true),
  }),
);

const request: fc.Arbitrary<ChatRequest> = fc.record(
  {
    system: fc.string({ minLength: 1, maxLength: 12 }),
    messages: fc.array(message, { maxLength: 8 }),
    tools: fc.constant([
      {
        name: 'get_weather',
        description: 'The weather in a city.',
        parameters: { type: 'object', properties: { city: { type: 'string' } } },
      },
    ]),
    toolChoice: fc.constantFrom('auto' as const, 'required' as const, { name: 'get_weather' }),
    maxTokens: fc.integer({ min: 1, max: 4096 }),
    temperature: fc.double({ min: 0, max: 2, noNaN: true }),
    stop: fc.array(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 2 }),
  },
  { requiredKeys: ['messages'] },
);

describe('neutral chat ↔ AI SDK prompt', () => {
  it('a neutral request survives the AI SDK prompt form and back (the provider and the router model agree)', () => {
    fc.assert(
      fc.property(request, (req) => {
        const back = chatRequestFromPrompt(toAiSdkCallOptions(req)).request;
        // toolChoice travels only with tools; an empty assistant turn stays an empty assistant turn.
        const expected: ChatRequest = {
          ...req,
          ...(req.tools === undefined ? { toolChoice: undefined } : {}),
        };
        expect(JSON.parse(JSON.stringify(back))).toEqual(JSON.parse(JSON.stringify(expected)));
      }),
    );
  });

  it('reads every tool output kind, leaves reasoning out, and warns of settings it cannot carry', () => {
    const options: AiSdkCallOptionsRead = {
      prompt: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'Go.' }] },
        {
          role: 'assistant',
          content: [
            { type: 'reasoning', text: 'thinking…' },
            { type: 'tool-call', toolCallId: 'a', toolName: 't', input: { x: 1 } },
            { type: 'tool-call', toolCallId: 'b', toolName: 't', input: {} },
            { type: 'tool-call', toolCallId: 'c', toolName: 't', input: {} },
            { type: 'tool-call', toolCallId: 'd', toolName: 't', input: {} },
          ],
        },
        {
          role: 'tool',
          content: [
            {
              type: 'tool-result',
              toolCallId: 'a',
              toolName: 't',
              output: { type: 'json', value: { ok: 1 } },
            },
            {
              type: 'tool-result',
              toolCallId: 'b',
              toolName: 't',
              output: { type: 'error-json', value: { e: 2 } },
            },
            {
              type: 'tool-result',
              toolCallId: 'c',
              toolName: 't',
              output: { type: 'execution-denied', reason: 'no' },
            },
            {
              type: 'tool-result',
              toolCallId: 'd',
              toolName: 't',
              output: { type: 'content', value: [{ type: 'text', text: 'one' }] },
            },
          ],
        },
      ],
      topP: 0.9,
      seed: 7,
      responseFormat: { type: 'json' },
    };
    const { request: req, warnings } = chatRequestFromPrompt(options);
    expect(req.system).toBe('Be brief.');
    expect(req.messages.slice(1, 2)).toEqual([
      {
        role: 'assistant',
        content: '',
        toolCalls: [
          { id: 'a', name: 't', arguments: { x: 1 } },
          { id: 'b', name: 't', arguments: {} },
          { id: 'c', name: 't', arguments: {} },
          { id: 'd', name: 't', arguments: {} },
        ],
      },
    ]);
    expect(req.messages.slice(2)).toEqual([
      { role: 'tool', toolCallId: 'a', toolName: 't', content: '{"ok":1}' },
      { role: 'tool', toolCallId: 'b', toolName: 't', content: '{"e":2}', isError: true },
      { role: 'tool', toolCallId: 'c', toolName: 't', content: 'Tool execution denied: no', isError: true },
      { role: 'tool', toolCallId: 'd', toolName: 't', content: 'one' },
    ]);
    expect(warnings.map((w) => (w.type === 'unsupported' ? w.feature : w.message))).toEqual([
      'topP',
      'seed',
      'responseFormat',
    ]);
  });

  it.each([
    [
      'a provider tool',
      { prompt: [], tools: [{ type: 'provider', name: 'web_search' }] },
      /tools\[0\]: the provider tool "web_search" cannot be routed/,
    ],
    [
      'a provider-executed tool call',
      {
        prompt: [
          {
            role: 'assistant',
            content: [
              {
                type: 'tool-call',
                toolCallId: 'x',
                toolName: 'web_search',
                input: {},
                providerExecuted: true,
              },
            ],
          },
        ],
      },
      /prompt\[0\]\.content\[0\]: a provider-executed tool-call part cannot be routed/,
    ],
    [
      'an image in a tool output',
      {
        prompt: [
          {
            role: 'tool',
            content: [
              {
                type: 'tool-result',
                toolCallId: 'x',
                toolName: 't',
                output: {
                  type: 'content',
                  value: [{ type: 'image-data', data: 'AA', mediaType: 'image/png' }],
                },
              },
            ],
          },
        ],
      },
      /prompt\[0\]\.content\[0\]\.output\.value\[0\]: a image-data tool output cannot be routed/,
    ],
  ] as const)('refuses %s by name', (_what, options, message) => {
    expect(() => chatRequestFromPrompt(options as unknown as AiSdkCallOptionsRead)).toThrow(message);
  });
});
