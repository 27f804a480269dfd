/**
 * Streamed Agents SDK runs through the router as model provider, over real
 * HTTP against the testing kit's fakes: the events a run emits, its tools,
 * usage, failover before the first chunk and the interruption after it.
 */
import { Agent, Runner, type RunStreamEvent, tool } from '@openai/agents';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createAgentsModelProvider } from '../../../src/openai-agents.js';
import {
  type ChatChunk,
  createAnthropicProvider,
  createOpenAIProvider,
  createRouter,
  type Router,
  StreamInterruptedError,
} from '../../../src/providers/index.js';
import { createFakeAnthropic } from '../../../src/testing/anthropic.js';
import type { FakeModel } from '../../../src/testing/model-server.js';
import { createFakeOpenAI, openaiReplies } from '../../../src/testing/openai.js';
import { anthropicClient, openaiClient, quickProfile } from '../../providers/helpers.js';

let primary: FakeModel;
let claude: FakeModel;

beforeEach(async () => {
  primary = await createFakeOpenAI();
  claude = await createFakeAnthropic();
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

function runner(): Runner {
  return new Runner({ modelProvider: createAgentsModelProvider(router()), tracingDisabled: true });
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

const osloCall = { toolCalls: [{ id: 'call_oslo', name: 'get_weather', arguments: { city: 'Oslo' } }] };

/** Every event of a streamed run, in order, once it is done. */
async function eventsOf(
  result: AsyncIterable<RunStreamEvent> & { readonly completed: Promise<void> },
): Promise<RunStreamEvent[]> {
  const events: RunStreamEvent[] = [];
  for await (const event of result) events.push(event);
  await result.completed;
  return events;
}

/** The run's events by name: raw model events as their type (a raw chunk as `model:` and its type), items by name. */
function names(events: readonly RunStreamEvent[]): string[] {
  return events.flatMap((e) => {
    if (e.type === 'raw_model_stream_event')
      return [e.data.type === 'model' ? `model:${(e.data.event as ChatChunk).type}` : e.data.type];
    if (e.type === 'run_item_stream_event') return [e.name];
    return [];
  });
}

function responsesDone(events: readonly RunStreamEvent[]) {
  return events.flatMap((e) =>
    e.type === 'raw_model_stream_event' && e.data.type === 'response_done' ? [e.data.response] : [],
  );
}

function textDeltas(events: readonly RunStreamEvent[]): string[] {
  return events.flatMap((e) =>
    e.type === 'raw_model_stream_event' && e.data.type === 'output_text_delta' ? [e.data.delta] : [],
  );
}

describe('a streamed Agents SDK run through the router', () => {
  it('runs the tool the stream called and finishes with the final text, as the plain run does', async () => {
    primary.script(osloCall, { text: 'Clear skies in Oslo.' }, osloCall, { text: 'Clear skies in Oslo.' });
    const first = travelAgent();
    const streamed = await runner().run(first.agent, 'Weather in Oslo?', { stream: true });
    const events = await eventsOf(streamed);
    const second = travelAgent();
    const plain = await runner().run(second.agent, 'Weather in Oslo?');

    expect(streamed.finalOutput).toBe('Clear skies in Oslo.');
    expect(first.cities).toEqual(['Oslo']);
    expect(responsesDone(events)[0]!.output).toEqual([
      {
        id: 'chatcmpl-fake',
        type: 'function_call',
        callId: 'call_oslo',
        name: 'get_weather',
        arguments: '{"city":"Oslo"}',
        status: 'completed',
      },
    ]);
    // The second turn sent the call and its output back.
    expect((primary.requests[1]!.body as { messages: unknown[] }).messages.slice(2)).toEqual([
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
      { role: 'tool', tool_call_id: 'call_oslo', content: 'clear skies in Oslo' },
    ]);
    // The streamed run and the plain one end with the same items and history.
    expect(second.cities).toEqual(['Oslo']);
    expect(plain.finalOutput).toBe(streamed.finalOutput);
    expect(streamed.history).toEqual(plain.history);
    expect(streamed.newItems.map((i) => i.type)).toEqual(plain.newItems.map((i) => i.type));
    expect(primary.requests.map((r) => (r.body as { stream?: boolean }).stream === true)).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });

  it('emits response_started, a raw model event per chunk, text deltas and response_done, in order', async () => {
    primary.script(osloCall, { text: 'Clear skies in Oslo.' });
    const { agent } = travelAgent();
    const events = await eventsOf(await runner().run(agent, 'Weather in Oslo?', { stream: true }));

    expect(names(events)).toEqual([
      'response_started',
      'model:tool_call_start',
      'model:tool_call_delta',
      'model:tool_call_delta',
      'model:usage',
      'model:finish',
      'response_done',
      'tool_called',
      'tool_output',
      'response_started',
      'model:text',
      'output_text_delta',
      'model:text',
      'output_text_delta',
      'model:usage',
      'model:finish',
      'response_done',
      'message_output_created',
    ]);
    const raw = events.flatMap((e) =>
      e.type === 'raw_model_stream_event' && e.data.type === 'model'
        ? [{ source: e.source, chunk: e.data.event as ChatChunk }]
        : [],
    );
    expect(new Set(raw.map((r) => r.source))).toEqual(new Set(['breakwater']));
    expect(textDeltas(events)).toEqual(['Clear skie', 's in Oslo.']);
    const chunks = raw.map((r) => r.chunk);
    expect(chunks.slice(0, 3)).toEqual([
      { type: 'tool_call_start', index: 0, id: 'call_oslo', name: 'get_weather' },
      { type: 'tool_call_delta', index: 0, argumentsDelta: '{"city"' },
      { type: 'tool_call_delta', index: 0, argumentsDelta: ':"Oslo"}' },
    ]);
  });

  it('reports the usage of every streamed turn, to the events and to the run', async () => {
    primary.script(osloCall, { text: 'Clear skies in Oslo.' });
    const { agent } = travelAgent();
    const result = await runner().run(agent, 'Weather in Oslo?', { stream: true });
    const events = await eventsOf(result);

    // The fake OpenAI counts 11 tokens in, 7 out, for every answer.
    const turn = { requests: 1, inputTokens: 11, outputTokens: 7, totalTokens: 18 };
    expect(responsesDone(events).map((r) => r.usage)).toEqual([turn, turn]);
    expect(result.rawResponses.map((r) => r.usage)).toMatchObject([turn, turn]);
    expect(result.state.usage).toMatchObject({
      requests: 2,
      inputTokens: 22,
      outputTokens: 14,
      totalTokens: 36,
    });
  });

  it('fails over to the second deployment before the first chunk, and streams only its answer', async () => {
    // HTTP 200, then an error event before any content: nothing handed over yet.
    primary.respond(() => openaiReplies.streamText(['Clear ', 'skies.'], { errorAfter: 0 }));
    claude.script({ ...osloCall, text: 'Checking.' }, { text: 'Clear skies in Oslo.' });
    const { agent, cities } = travelAgent();
    const result = await runner().run(agent, 'Weather in Oslo?', { stream: true });
    const events = await eventsOf(result);

    expect(result.finalOutput).toBe('Clear skies in Oslo.');
    expect(cities).toEqual(['Oslo']);
    expect(primary.count).toBeGreaterThanOrEqual(2);
    expect(claude.count).toBe(2);
    expect(textDeltas(events)).toEqual(['Checking.', 'Clear skie', 's in Oslo.']);
    // Anthropic's turn of text and a tool call is two items: the message, then the call.
    expect(responsesDone(events)[0]!.output).toMatchObject([
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.' }] },
      { type: 'function_call', callId: 'call_oslo', name: 'get_weather', arguments: '{"city":"Oslo"}' },
    ]);
    expect(names(events).filter((n) => n === 'response_started')).toHaveLength(2);
    expect(responsesDone(events).map((r) => r.providerData)).toEqual([
      { provider: 'anthropic', model: 'claude-fake', deployment: 'anthropic/claude-test' },
      { provider: 'anthropic', model: 'claude-fake', deployment: 'anthropic/claude-test' },
    ]);
    // The SDK keeps it on the event only, as docs/frameworks.md says.
    expect(result.rawResponses.map((r) => r.providerData)).toEqual([undefined, undefined]);
  });

  it('ends the run with StreamInterruptedError when the stream breaks after its first chunk', async () => {
    primary.script(osloCall);
    primary.enqueue(openaiReplies.streamText(['Clear ', 'skies ', 'in Oslo.'], { errorAfter: 1 }));
    const { agent, cities } = travelAgent();
    const result = await runner().run(agent, 'Weather in Oslo?', { stream: true });
    const events: RunStreamEvent[] = [];
    const failure = await (async () => {
      for await (const event of result) events.push(event);
      await result.completed;
    })().catch((e: unknown) => e);

    expect(failure).toBeInstanceOf(StreamInterruptedError);
    expect((failure as StreamInterruptedError).partialText).toBe('Clear ');
    expect(cities).toEqual(['Oslo']);
    expect(textDeltas(events)).toEqual(['Clear ']);
    expect(responsesDone(events)).toHaveLength(1);
    // Not repeated, not failed over: the caller holds part of the answer.
    expect(primary.count).toBe(2);
    expect(claude.count).toBe(0);
  });
});
