/**
 * The agent loop with the tool registry: its definitions go to whichever
 * provider answers, the neutral tool calls go back to it as `tool_use`
 * blocks, and its results (failures included, with `is_error`) come back as
 * neutral messages that either provider accepts.
 */

import { anthropicReplies, openaiReplies } from 'breakwater/testing';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type ChatMessage,
  createAnthropicProvider,
  createOpenAIProvider,
  createRouter,
  toolResultMessages,
  toolUseBlocks,
} from '../../src/providers/index.js';
import { createRegistry } from '../../src/tools/index.js';
import { startFakeAnthropic } from '../fakes/anthropic-server.js';
import { startFakeOpenAI } from '../fakes/openai-server.js';
import { anthropicClient, openaiClient, quickProfile } from './helpers.js';

type Fake = Awaited<ReturnType<typeof startFakeOpenAI>>;

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

it('runs a tool loop across a failover with the registry’s definitions and results', async () => {
  const registry = createRegistry();
  registry.register({
    name: 'get_weather',
    description: 'Current weather for a city.',
    effect: 'idempotent',
    input: z.object({ city: z.string() }),
    profile: { retry: { maxAttempts: 1 } },
    execute: async ({ city }) =>
      city === 'Atlantis' ? Promise.reject(new Error('no such city')) : `${city}: 18°C`,
  });
  const router = createRouter({
    providers: [
      createOpenAIProvider(openaiClient(openai.baseURL), { model: 'gpt-test' }),
      createAnthropicProvider(anthropicClient(anthropic.baseURL), { model: 'claude-test' }),
    ],
    profile: quickProfile(),
  });

  const messages: ChatMessage[] = [{ role: 'user', content: 'Weather in Paris and Atlantis?' }];
  openai.enqueue(
    openaiReplies.toolCalls([
      { id: 'call_a', name: 'get_weather', arguments: { city: 'Paris' } },
      { id: 'call_b', name: 'get_weather', arguments: { city: 'Atlantis' } },
    ]),
  );
  const first = await router.chat({ messages, tools: registry });
  expect(openai.requests[0]!.body).toMatchObject({
    tools: [
      { type: 'function', function: { name: 'get_weather', description: 'Current weather for a city.' } },
    ],
  });

  const results = await registry.handleToolCalls(toolUseBlocks(first.toolCalls));
  const resultMessages = toolResultMessages(results);
  expect(resultMessages).toMatchObject([
    { role: 'tool', toolCallId: 'call_a', content: 'Paris: 18°C' },
    { role: 'tool', toolCallId: 'call_b', isError: true },
  ]);
  messages.push(first.message, ...resultMessages);

  openai.respond(() => openaiReplies.error(500));
  anthropic.enqueue(anthropicReplies.text('Paris is mild; Atlantis could not be found.'));
  const second = await router.chat({ messages, tools: registry });
  expect(second.provider).toBe('anthropic');
  const body = anthropic.requests[0]!.body as { tools: unknown; messages: unknown[] };
  expect(body.tools).toMatchObject([{ name: 'get_weather', input_schema: { type: 'object' } }]);
  expect(body.messages[2]).toMatchObject({
    role: 'user',
    content: [
      { type: 'tool_result', tool_use_id: 'call_a', content: 'Paris: 18°C' },
      { type: 'tool_result', tool_use_id: 'call_b', is_error: true },
    ],
  });
});
