import { anthropicReplies, openaiReplies } from 'breakwater/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type ChatMessage,
  type ChatRequest,
  createAnthropicProvider,
  createOpenAIProvider,
  createRouter,
  type ToolDefinition,
  type ToolDefinitionSource,
} from '../../src/providers/index.js';
import { startFakeAnthropic } from '../fakes/anthropic-server.js';
import { startFakeOpenAI } from '../fakes/openai-server.js';
import { anthropicClient, openaiClient, quickProfile } from './helpers.js';

type Fake = Awaited<ReturnType<typeof startFakeOpenAI>>;

const weather: ToolDefinition = {
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

let openai: Fake;
let anthropic: Fake;

beforeEach(async () => {
  openai = await startFakeOpenAI();
  anthropic = await startFakeAnthropic();
});

afterEach(async () => {
  await openai.close();
  await anthropic.close();
});

describe('a tool-calling conversation that fails over mid-loop', () => {
  it('continues on Anthropic with the OpenAI tool calls and results translated', async () => {
    const router = createRouter({
      providers: [
        createOpenAIProvider(openaiClient(openai.baseURL), { model: 'gpt-test' }),
        createAnthropicProvider(anthropicClient(anthropic.baseURL), { model: 'claude-test' }),
      ],
      profile: quickProfile(),
    });
    const request: ChatRequest = {
      system: 'You are a travel agent.',
      messages: [{ role: 'user', content: 'Weather in Paris and Rome?' }],
      tools: [weather],
      toolChoice: 'auto',
      maxTokens: 512,
    };

    // Turn 1 on OpenAI: two tool calls.
    openai.enqueue(
      openaiReplies.toolCalls(
        [
          { id: 'call_paris', name: 'get_weather', arguments: { city: 'Paris' } },
          { id: 'call_rome', name: 'get_weather', arguments: { city: 'Rome' } },
        ],
        'Checking both.',
      ),
    );
    const first = await router.chat(request);
    expect(first.provider).toBe('openai');
    expect(first.finishReason).toBe('tool_calls');
    expect(first.toolCalls).toEqual([
      { id: 'call_paris', name: 'get_weather', arguments: { city: 'Paris' } },
      { id: 'call_rome', name: 'get_weather', arguments: { city: 'Rome' } },
    ]);

    // The caller runs the tools (one fails) and asks again; OpenAI is now down.
    const history: ChatMessage[] = [
      ...request.messages,
      first.message,
      { role: 'tool', toolCallId: 'call_paris', toolName: 'get_weather', content: '18°C, sunny' },
      { role: 'tool', toolCallId: 'call_rome', content: 'weather service unavailable', isError: true },
      { role: 'user', content: 'And what should I pack?' },
    ];
    openai.respond(() => openaiReplies.error(500));
    anthropic.enqueue(anthropicReplies.text('Light clothes for Paris; check Rome later.'));
    const second = await router.chat({ ...request, messages: history });

    expect(second.provider).toBe('anthropic');
    expect(second.message.content).toBe('Light clothes for Paris; check Rome later.');
    expect(openai.count).toBe(3);
    expect(anthropic.requests[0]!.body).toEqual({
      model: 'claude-test',
      max_tokens: 512,
      system: 'You are a travel agent.',
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather in Paris and Rome?' }] },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Checking both.' },
            { type: 'tool_use', id: 'call_paris', name: 'get_weather', input: { city: 'Paris' } },
            { type: 'tool_use', id: 'call_rome', name: 'get_weather', input: { city: 'Rome' } },
          ],
        },
        {
          // Two tool results and the next question: one user turn, results first.
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'call_paris', content: '18°C, sunny' },
            {
              type: 'tool_result',
              tool_use_id: 'call_rome',
              content: 'weather service unavailable',
              is_error: true,
            },
            { type: 'text', text: 'And what should I pack?' },
          ],
        },
      ],
      tools: [
        {
          name: 'get_weather',
          description: 'Current weather for a city',
          input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      ],
      tool_choice: { type: 'auto' },
    });
  });

  it('continues on OpenAI with the Anthropic tool_use and tool_result translated', async () => {
    const router = createRouter({
      providers: [
        createAnthropicProvider(anthropicClient(anthropic.baseURL), { model: 'claude-test' }),
        createOpenAIProvider(openaiClient(openai.baseURL), { model: 'gpt-test' }),
      ],
      profile: quickProfile(),
    });
    // A registry-like source: definitions in each provider's own shape.
    const registry: ToolDefinitionSource = {
      definitions: (format) =>
        format === 'openai'
          ? [{ type: 'function', function: { name: weather.name, parameters: weather.parameters } }]
          : [{ name: weather.name, input_schema: weather.parameters }],
    };
    const request: ChatRequest = {
      system: 'You are a travel agent.',
      messages: [{ role: 'user', content: 'Weather in Oslo?' }],
      tools: registry,
      toolChoice: { name: 'get_weather' },
    };

    anthropic.enqueue(
      anthropicReplies.toolUse(
        [{ id: 'toolu_01Oslo', name: 'get_weather', input: { city: 'Oslo' } }],
        'Let me check.',
      ),
    );
    const first = await router.chat(request);
    expect(first.provider).toBe('anthropic');
    expect(first.toolCalls).toEqual([
      { id: 'toolu_01Oslo', name: 'get_weather', arguments: { city: 'Oslo' } },
    ]);

    anthropic.respond(() => anthropicReplies.overloaded());
    openai.enqueue(openaiReplies.text('It is -3°C in Oslo.'));
    const second = await router.chat({
      ...request,
      messages: [
        ...request.messages,
        first.message,
        { role: 'tool', toolCallId: 'toolu_01Oslo', content: 'upstream timeout', isError: true },
      ],
    });

    expect(second.provider).toBe('openai');
    // One 529, then straight to OpenAI: no backoff on a busy provider while another is free.
    expect(anthropic.count).toBe(2);
    expect(openai.requests[0]!.body).toEqual({
      model: 'gpt-test',
      messages: [
        { role: 'system', content: 'You are a travel agent.' },
        { role: 'user', content: 'Weather in Oslo?' },
        {
          role: 'assistant',
          content: 'Let me check.',
          tool_calls: [
            {
              id: 'toolu_01Oslo',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Oslo"}' },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'toolu_01Oslo', content: 'Error: upstream timeout' },
      ],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: weather.parameters } }],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
  });
});
