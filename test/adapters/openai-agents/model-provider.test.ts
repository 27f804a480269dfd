import { Agent, Runner, tool } from '@openai/agents';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isBreakwaterError } from '../../../src/failure/errors.js';
import { createAgentsModelProvider } from '../../../src/openai-agents.js';
import {
  createAnthropicProvider,
  createOpenAIProvider,
  createRouter,
  type Router,
} from '../../../src/providers/index.js';
import { anthropicReplies, startFakeAnthropic } from '../../fakes/anthropic-server.js';
import { openaiReplies, startFakeOpenAI } from '../../fakes/openai-server.js';
import { anthropicClient, openaiClient, quickProfile } from '../../providers/helpers.js';

type Fake = Awaited<ReturnType<typeof startFakeOpenAI>>;

let primary: Fake;
let claude: Fake;

beforeEach(async () => {
  primary = await startFakeOpenAI();
  claude = await startFakeAnthropic();
});

afterEach(async () => {
  await Promise.all([primary.close(), claude.close()]);
});

/** OpenAI first, Anthropic second, both through the real SDK clients. */
function router(): Router {
  return createRouter({
    providers: [
      createOpenAIProvider(openaiClient(primary.baseURL), { model: 'gpt-test' }),
      createAnthropicProvider(anthropicClient(claude.baseURL), { model: 'claude-test' }),
    ],
    profile: quickProfile(),
  });
}

function travelAgent() {
  const cities: string[] = [];
  const agent = new Agent({
    name: 'travel',
    instructions: 'Be brief.',
    tools: [
      tool({
        name: 'get_weather',
        description: 'The weather in a city.',
        parameters: z.object({ city: z.string() }),
        execute: async ({ city }) => {
          cities.push(city);
          return `clear skies in ${city}`;
        },
      }),
    ],
  });
  return { agent, cities };
}

/** The Anthropic conversation after one Oslo function call, as the run's items became. */
const continuedOnAnthropic = [
  { role: 'user', content: [{ type: 'text', text: 'Weather in Oslo?' }] },
  {
    role: 'assistant',
    content: [{ type: 'tool_use', id: 'call_oslo', name: 'get_weather', input: { city: 'Oslo' } }],
  },
  {
    role: 'user',
    content: [{ type: 'tool_result', tool_use_id: 'call_oslo', content: 'clear skies in Oslo' }],
  },
];

describe('the router as an OpenAI Agents SDK model provider', () => {
  it('runs an agent that fails over mid-conversation, after its first function call', async () => {
    const { agent, cities } = travelAgent();
    primary.enqueue(
      openaiReplies.toolCalls([{ id: 'call_oslo', name: 'get_weather', arguments: { city: 'Oslo' } }]),
    );
    primary.respond(() => openaiReplies.error(500));
    claude.enqueue(anthropicReplies.text('Clear skies in Oslo.'));
    const runner = new Runner({ modelProvider: createAgentsModelProvider(router()), tracingDisabled: true });

    const result = await runner.run(agent, 'Weather in Oslo?');

    expect(result.finalOutput).toBe('Clear skies in Oslo.');
    expect(cities).toEqual(['Oslo']);
    expect(primary.count).toBe(3);
    expect(primary.requests[0]!.body).toMatchObject({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Weather in Oslo?' },
      ],
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'The weather in a city.' } }],
    });
    const body = claude.requests[0]!.body as { system: string; messages: unknown[] };
    expect(body.system).toBe('Be brief.');
    expect(body.messages).toEqual(continuedOnAnthropic);
    expect(result.rawResponses.map((r) => r.providerData?.provider)).toEqual(['openai', 'anthropic']);
  });

  it('streams a run that fails over mid-conversation', async () => {
    const { agent, cities } = travelAgent();
    primary.enqueue(
      openaiReplies.streamToolCalls([{ id: 'call_oslo', name: 'get_weather', arguments: { city: 'Oslo' } }]),
    );
    primary.respond(() => openaiReplies.error(503));
    claude.enqueue(anthropicReplies.streamText(['Clear ', 'skies ', 'in Oslo.']));
    const runner = new Runner({ modelProvider: createAgentsModelProvider(router()), tracingDisabled: true });

    const result = await runner.run(agent, 'Weather in Oslo?', { stream: true });
    const deltas: string[] = [];
    for await (const event of result) {
      if (event.type === 'raw_model_stream_event' && event.data.type === 'output_text_delta')
        deltas.push(event.data.delta);
    }
    await result.completed;

    expect(result.finalOutput).toBe('Clear skies in Oslo.');
    expect(deltas).toEqual(['Clear ', 'skies ', 'in Oslo.']);
    expect(cities).toEqual(['Oslo']);
    // A 503 is busy, not broken: left at once for Anthropic, not retried.
    expect(primary.count).toBe(2);
    expect((claude.requests[0]!.body as { messages: unknown[] }).messages).toEqual(continuedOnAnthropic);
  });

  it("maps each agent's model name to a group", async () => {
    const groups = createRouter({
      groups: {
        smart: { deployments: [createOpenAIProvider(openaiClient(primary.baseURL), { model: 'gpt-big' })] },
        fast: {
          deployments: [createAnthropicProvider(anthropicClient(claude.baseURL), { model: 'claude-small' })],
        },
      },
      profile: quickProfile(),
    });
    primary.enqueue(openaiReplies.text('from the smart group'));
    claude.enqueue(anthropicReplies.text('from the fast group'));
    const runner = new Runner({
      modelProvider: createAgentsModelProvider(groups, {
        groups: { 'gpt-4.1': 'smart', 'gpt-4.1-mini': 'fast' },
      }),
      tracingDisabled: true,
    });
    const fast = new Agent({ name: 'fast', instructions: 'Be brief.', model: 'gpt-4.1-mini' });
    const smart = new Agent({ name: 'smart', instructions: 'Be brief.', model: 'gpt-4.1' });

    expect((await runner.run(fast, 'hi')).finalOutput).toBe('from the fast group');
    expect((await runner.run(smart, 'hi')).finalOutput).toBe('from the smart group');
    expect([primary.count, claude.count]).toEqual([1, 1]);
  });

  it("the run's abort signal cancels the routed call, and no other deployment is tried", async () => {
    const { agent } = travelAgent();
    primary.enqueue({ kind: 'hang' });
    const controller = new AbortController();
    const runner = new Runner({ modelProvider: createAgentsModelProvider(router()), tracingDisabled: true });
    const run = runner.run(agent, 'hi', { signal: controller.signal }).catch((e: unknown) => e);
    await primary.until((r) => r.length === 1);
    controller.abort(new Error('user left'));
    expect(await run).toBeInstanceOf(Error);
    await primary.until((r) => r[0]!.clientClosed);
    expect(claude.count).toBe(0);
  });

  it('refuses an image input by name, before any deployment is asked', async () => {
    const { agent } = travelAgent();
    const runner = new Runner({ modelProvider: createAgentsModelProvider(router()), tracingDisabled: true });
    const err = await runner
      .run(agent, [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'What is this?' },
            { type: 'input_image', image: 'https://example.com/a.png' },
          ],
        },
      ])
      .catch((e: unknown) => e);
    expect(isBreakwaterError(err, 'invalid_input')).toBe(true);
    expect((err as Error).message).toMatch(
      /input\[0\]\.content\[1\]: a part of type input_image cannot be routed/,
    );
    expect(primary.count + claude.count).toBe(0);
  });
});
