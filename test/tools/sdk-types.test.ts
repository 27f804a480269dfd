/**
 * The registry's answers, checked against the SDKs' own types: this file
 * failing to compile is the failure. The runtime assertions only make sure
 * the values compared are the ones the registry really produces.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import type {
  AnthropicToolResult,
  OpenAIChatToolResult,
  OpenAIResponsesToolResult,
} from '../../src/tools/formats.js';
import { createRegistry } from '../../src/tools/registry.js';

function registry() {
  const r = createRegistry();
  r.register({
    name: 'get_weather',
    description: 'Current weather for a city.',
    effect: 'idempotent',
    input: z.object({ city: z.string(), unit: z.enum(['c', 'f']).optional() }),
    execute: async ({ city }) => ({ city, sky: 'clear' }),
  });
  return r;
}

describe('OpenAI Chat Completions types', () => {
  it('accepts the definitions, the tool calls and the tool messages', async () => {
    const r = registry();
    const tools: OpenAI.Chat.ChatCompletionTool[] = r.definitions('openai');
    const request: OpenAI.Chat.ChatCompletionCreateParamsNonStreaming = {
      model: 'gpt-4.1',
      messages: [{ role: 'user', content: 'Weather in Oslo?' }],
      tools,
    };
    const assistant: OpenAI.Chat.ChatCompletionMessage = {
      role: 'assistant',
      content: null,
      refusal: null,
      tool_calls: [
        { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
      ],
    };
    const results = await r.handleToolCalls(assistant.tool_calls);
    expectTypeOf(results).toEqualTypeOf<OpenAIChatToolResult[]>();
    const toolMessages: OpenAI.Chat.ChatCompletionToolMessageParam[] = results;
    const next: OpenAI.Chat.ChatCompletionMessageParam[] = [...request.messages, assistant, ...toolMessages];
    expect(next).toHaveLength(3);
    expect(toolMessages[0]).toEqual({
      role: 'tool',
      tool_call_id: 'call_1',
      content: '{"city":"Oslo","sky":"clear"}',
    });
  });
});

describe('OpenAI Responses types', () => {
  it('accepts the definitions, the output items and the function_call_output items', async () => {
    const r = registry();
    const tools: OpenAI.Responses.Tool[] = r.definitions('openai-responses');
    const request: OpenAI.Responses.ResponseCreateParamsNonStreaming = {
      model: 'gpt-4.1',
      input: 'Oslo?',
      tools,
    };
    const output: OpenAI.Responses.ResponseOutputItem[] = [
      {
        type: 'function_call',
        id: 'fc_1',
        call_id: 'call_1',
        name: 'get_weather',
        arguments: '{"city":"Oslo"}',
        status: 'completed',
      },
    ];
    const results = await r.handleToolCalls(output);
    expectTypeOf(results).toEqualTypeOf<OpenAIResponsesToolResult[]>();
    const input: OpenAI.Responses.ResponseInputItem[] = results;
    const next: OpenAI.Responses.ResponseCreateParamsNonStreaming = { ...request, input };
    expect(next.input).toEqual([
      { type: 'function_call_output', call_id: 'call_1', output: '{"city":"Oslo","sky":"clear"}' },
    ]);
  });
});

describe('Anthropic Messages types', () => {
  it('accepts the definitions, the content blocks and the tool_result blocks', async () => {
    const r = registry();
    const tools: Anthropic.Messages.ToolUnion[] = r.definitions('anthropic');
    const request: Anthropic.Messages.MessageCreateParamsNonStreaming = {
      model: 'claude-sonnet-4-5',
      max_tokens: 1024,
      messages: [{ role: 'user', content: 'Weather in Oslo?' }],
      tools,
    };
    const content: Anthropic.Messages.ContentBlock[] = [
      { type: 'text', text: 'Checking.', citations: null },
      {
        type: 'tool_use',
        id: 'toolu_1',
        name: 'get_weather',
        input: { city: 'Oslo' },
        caller: { type: 'direct' },
      },
    ];
    const results = await r.handleToolCalls(content);
    expectTypeOf(results).toEqualTypeOf<AnthropicToolResult[]>();
    const blocks: Anthropic.Messages.ToolResultBlockParam[] = results;
    const reply: Anthropic.Messages.MessageParam = { role: 'user', content: blocks };
    const next: Anthropic.Messages.MessageParam[] = [
      ...request.messages,
      { role: 'assistant', content },
      reply,
    ];
    expect(next).toHaveLength(3);
    expect(blocks).toEqual([
      { type: 'tool_result', tool_use_id: 'toolu_1', content: '{"city":"Oslo","sky":"clear"}' },
    ]);
  });
});
