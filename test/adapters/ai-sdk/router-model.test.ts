import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, stepCountIs, streamText, tool } from 'ai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createAiSdkProvider, createRouterModel } from '../../../src/ai-sdk.js';
import { isBreakwaterError } from '../../../src/failure/errors.js';
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
let secondary: Fake;
let claude: Fake;

beforeEach(async () => {
  primary = await startFakeOpenAI();
  secondary = await startFakeOpenAI();
  claude = await startFakeAnthropic();
});

afterEach(async () => {
  await Promise.all([primary.close(), secondary.close(), claude.close()]);
});

/** A weather tool that records the cities it was asked for. */
function weatherTools() {
  const cities: string[] = [];
  const tools = {
    get_weather: tool({
      description: 'The weather in a city.',
      inputSchema: z.object({ city: z.string() }),
      execute: async ({ city }) => {
        cities.push(city);
        return { city, sky: 'clear' };
      },
    }),
  };
  return { tools, cities };
}

/** Real SDK clients against the fakes: OpenAI first, Anthropic second. */
function sdkRouter(): Router {
  return createRouter({
    providers: [
      createOpenAIProvider(openaiClient(primary.baseURL), { model: 'gpt-test' }),
      createAnthropicProvider(anthropicClient(claude.baseURL), { model: 'claude-test' }),
    ],
    profile: quickProfile(),
  });
}

/** AI SDK models against the fakes: `@ai-sdk/openai` first, `@ai-sdk/anthropic` second. */
function aiSdkRouter(): Router {
  const openai = createOpenAI({ baseURL: primary.baseURL, apiKey: 'sk-test-not-a-key' });
  const anthropic = createAnthropic({ baseURL: `${claude.url}/v1`, apiKey: 'sk-ant-test-not-a-key' });
  return createRouter({
    providers: [
      createAiSdkProvider(openai.chat('gpt-test'), { name: 'ai-openai' }),
      createAiSdkProvider(anthropic('claude-test'), { name: 'ai-anthropic' }),
    ],
    profile: quickProfile(),
  });
}

/** Where each step of a run was answered, from the metadata the router model attaches. */
function servedBy(
  steps: ReadonlyArray<{ providerMetadata?: Record<string, Record<string, unknown>> | undefined }>,
) {
  return steps.map((s) => s.providerMetadata?.breakwater?.provider);
}

/** The Anthropic conversation after one Oslo tool call, whichever client sent it. */
const continuedOnAnthropic = [
  { role: 'user', content: [{ type: 'text', text: 'Weather in Oslo?' }] },
  {
    role: 'assistant',
    content: [{ type: 'tool_use', id: 'call_oslo', name: 'get_weather', input: { city: 'Oslo' } }],
  },
  {
    role: 'user',
    content: [
      expect.objectContaining({
        type: 'tool_result',
        tool_use_id: 'call_oslo',
        content: expect.stringContaining('"sky":"clear"'),
      }),
    ],
  },
];

describe('the router as an AI SDK model (ai@6 generateText / streamText)', () => {
  it('generateText: a tool loop fails over mid-conversation from OpenAI to Anthropic (SDK clients)', async () => {
    const { tools, cities } = weatherTools();
    primary.enqueue(
      openaiReplies.toolCalls([{ id: 'call_oslo', name: 'get_weather', arguments: { city: 'Oslo' } }]),
    );
    primary.respond(() => openaiReplies.error(500));
    claude.enqueue(anthropicReplies.text('Clear skies in Oslo.'));

    const result = await generateText({
      model: createRouterModel(sdkRouter()),
      system: 'Be brief.',
      prompt: 'Weather in Oslo?',
      tools,
      stopWhen: stepCountIs(3),
      maxRetries: 0,
    });

    expect(result.text).toBe('Clear skies in Oslo.');
    expect(cities).toEqual(['Oslo']);
    expect(servedBy(result.steps)).toEqual(['openai', 'anthropic']);
    // The second step: two attempts at OpenAI (500, 500), then Anthropic with the whole conversation.
    expect(primary.count).toBe(3);
    const body = claude.requests[0]!.body as { system: string; messages: unknown[]; tools: unknown[] };
    expect(body.system).toBe('Be brief.');
    expect(body.messages).toEqual(continuedOnAnthropic);
    expect(body.tools).toEqual([
      expect.objectContaining({ name: 'get_weather', description: 'The weather in a city.' }),
    ]);
  });

  it('streamText: a streamed tool loop fails over mid-conversation (SDK clients)', async () => {
    const { tools, cities } = weatherTools();
    primary.enqueue(
      openaiReplies.streamToolCalls([{ id: 'call_oslo', name: 'get_weather', arguments: { city: 'Oslo' } }]),
    );
    primary.respond(() => openaiReplies.error(503));
    claude.enqueue(anthropicReplies.streamText(['Clear ', 'skies ', 'in Oslo.']));

    const result = streamText({
      model: createRouterModel(sdkRouter()),
      prompt: 'Weather in Oslo?',
      tools,
      stopWhen: stepCountIs(3),
      maxRetries: 0,
    });
    const deltas: string[] = [];
    for await (const d of result.textStream) deltas.push(d);

    expect(deltas).toEqual(['Clear ', 'skies ', 'in Oslo.']);
    expect(cities).toEqual(['Oslo']);
    const steps = await result.steps;
    expect(servedBy(steps)).toEqual(['openai', 'anthropic']);
    expect(steps[0]!.toolCalls.map((c) => [c.toolCallId, c.input])).toEqual([
      ['call_oslo', { city: 'Oslo' }],
    ]);
    expect((claude.requests[0]!.body as { messages: unknown[] }).messages).toEqual(continuedOnAnthropic);
  });

  it('generateText: AI SDK models as the deployments (@ai-sdk/openai fails mid-loop, @ai-sdk/anthropic finishes)', async () => {
    const { tools, cities } = weatherTools();
    primary.enqueue(
      openaiReplies.toolCalls([{ id: 'call_oslo', name: 'get_weather', arguments: { city: 'Oslo' } }]),
    );
    primary.respond(() => openaiReplies.error(502));
    claude.enqueue(anthropicReplies.text('Clear skies in Oslo.'));

    const result = await generateText({
      model: createRouterModel(aiSdkRouter()),
      prompt: 'Weather in Oslo?',
      tools,
      stopWhen: stepCountIs(3),
      maxRetries: 0,
    });

    expect(result.text).toBe('Clear skies in Oslo.');
    expect(cities).toEqual(['Oslo']);
    expect(servedBy(result.steps)).toEqual(['ai-openai', 'ai-anthropic']);
    expect(primary.count).toBe(3);
    // What @ai-sdk/openai sent first: the neutral request in its own wire format.
    expect(primary.requests[0]!.body).toMatchObject({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'Weather in Oslo?' }],
      tools: [{ type: 'function', function: { name: 'get_weather' } }],
    });
    expect((claude.requests[0]!.body as { messages: unknown[] }).messages).toEqual(continuedOnAnthropic);
  });

  it('streamText: AI SDK models as the deployments, streamed through both ends', async () => {
    const { tools, cities } = weatherTools();
    const openai = createOpenAI({ baseURL: primary.baseURL, apiKey: 'sk-test-not-a-key' });
    const backup = createOpenAI({ baseURL: secondary.baseURL, apiKey: 'sk-test-not-a-key' });
    const router = createRouter({
      providers: [
        createAiSdkProvider(openai.chat('gpt-primary'), { name: 'primary' }),
        createAiSdkProvider(backup.chat('gpt-secondary'), { name: 'secondary' }),
      ],
      profile: quickProfile(),
    });
    primary.enqueue(
      openaiReplies.streamToolCalls([{ id: 'call_oslo', name: 'get_weather', arguments: { city: 'Oslo' } }]),
    );
    // After the tool call, the primary's stream breaks before its first chunk: an error event after HTTP 200.
    primary.respond(() => openaiReplies.streamText(['never'], { errorAfter: 0 }));
    secondary.enqueue(openaiReplies.streamText(['Clear ', 'in Oslo.']));

    const result = streamText({
      model: createRouterModel(router),
      prompt: 'Weather in Oslo?',
      tools,
      stopWhen: stepCountIs(3),
      maxRetries: 0,
    });

    expect(await result.text).toBe('Clear in Oslo.');
    expect(cities).toEqual(['Oslo']);
    expect(servedBy(await result.steps)).toEqual(['primary', 'secondary']);
    expect(primary.count).toBe(3);
    expect((secondary.requests[0]!.body as { messages: unknown[] }).messages).toEqual([
      { role: 'user', content: 'Weather in Oslo?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_oslo',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Oslo"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_oslo', content: expect.stringContaining('"sky":"clear"') },
    ]);
  });

  it('asks the group it is given, and says which deployment answered', async () => {
    const router = createRouter({
      groups: {
        smart: {
          deployments: [
            {
              provider: createOpenAIProvider(openaiClient(primary.baseURL), { model: 'gpt-big' }),
              id: 'big',
            },
          ],
        },
        fast: {
          deployments: [
            {
              provider: createOpenAIProvider(openaiClient(secondary.baseURL), { model: 'gpt-small' }),
              id: 'small',
            },
          ],
        },
      },
      profile: quickProfile(),
    });
    secondary.enqueue(openaiReplies.text('quick'));
    const result = await generateText({
      model: createRouterModel(router, { group: 'fast' }),
      prompt: 'hi',
      maxRetries: 0,
    });
    expect(result.text).toBe('quick');
    expect(result.providerMetadata?.breakwater).toEqual({
      provider: 'openai',
      model: 'gpt-fake',
      deployment: 'small',
    });
    expect(primary.count).toBe(0);

    const err = await generateText({
      model: createRouterModel(router, { group: 'slow' }),
      prompt: 'hi',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RangeError);
    expect((err as Error).message).toMatch(/group: unknown group 'slow'/);
  });

  it("streamText's abort signal closes the deployment's request mid-stream", async () => {
    const reply = openaiReplies.streamText(['a', 'b']);
    // Two text chunks, then the server keeps the stream open.
    primary.enqueue({
      kind: 'sse',
      events: reply.kind === 'sse' ? reply.events.slice(0, 3) : [],
      end: 'hang',
    });
    const controller = new AbortController();
    const result = streamText({
      model: createRouterModel(sdkRouter()),
      prompt: 'hi',
      abortSignal: controller.signal,
      maxRetries: 0,
    });
    const deltas: string[] = [];
    for await (const d of result.textStream) {
      deltas.push(d);
      if (deltas.length === 2) controller.abort(new Error('user left'));
    }
    expect(deltas).toEqual(['a', 'b']);
    await primary.until((r) => r[0]!.clientClosed);
    expect(primary.count + claude.count).toBe(1);
  });

  it('refuses an image part by name, before any deployment is asked', async () => {
    const err = await generateText({
      model: createRouterModel(sdkRouter()),
      system: 'Be brief.',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this picture?' },
            { type: 'image', image: new Uint8Array([137, 80, 78, 71]), mediaType: 'image/png' },
          ],
        },
      ],
      maxRetries: 0,
    }).catch((e: unknown) => e);

    expect(isBreakwaterError(err, 'invalid_input')).toBe(true);
    expect((err as Error).message).toMatch(
      /prompt\[1\]\.content\[1\]: a file part \(image\/png\) cannot be routed/,
    );
    expect(primary.count + claude.count).toBe(0);
  });

  it('throws what the router throws when every deployment fails, and the AI SDK does not retry it', async () => {
    primary.respond(() => openaiReplies.error(500));
    claude.respond(() => anthropicReplies.error(500));
    const err = await generateText({ model: createRouterModel(sdkRouter()), prompt: 'hi' }).catch(
      (e: unknown) => e,
    );

    expect((err as Error).name).toBe('AllProvidersFailedError');
    // maxRetries left at the AI SDK's default (2): still one routed call, two attempts on each deployment.
    expect(primary.count).toBe(2);
    expect(claude.count).toBe(2);
  });
});
