import { anthropicReplies, openaiReplies } from 'breakwater/testing';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type ChatMessage,
  type ChatRequest,
  createAnthropicProvider,
  createOpenAIProvider,
  createRouter,
  type Router,
} from '../../src/providers/index.js';
import { anthropicToolId } from '../../src/providers/tool-ids.js';
import { startFakeAnthropic } from '../fakes/anthropic-server.js';
import { caught } from '../fakes/caught.js';
import { startFakeOpenAI } from '../fakes/openai-server.js';
import { anthropicClient, openaiClient, quickProfile } from './helpers.js';

type OpenAIFake = Awaited<ReturnType<typeof startFakeOpenAI>>;
type AnthropicFake = Awaited<ReturnType<typeof startFakeAnthropic>>;

interface AnthropicBodyWire {
  messages: Array<{ role: string; content: Array<Record<string, unknown>> }>;
}

function blocks(body: unknown, type: string): Array<Record<string, unknown>> {
  return (body as AnthropicBodyWire).messages.flatMap((m) => m.content.filter((b) => b.type === type));
}

let openai: OpenAIFake;
let anthropic: AnthropicFake;
let router: Router;

beforeEach(async () => {
  openai = await startFakeOpenAI();
  anthropic = await startFakeAnthropic();
  router = createRouter({
    providers: [
      createOpenAIProvider(openaiClient(openai.baseURL), { model: 'kimi-test', name: 'compatible' }),
      createAnthropicProvider(anthropicClient(anthropic.baseURL), { model: 'claude-test' }),
    ],
    profile: quickProfile({ retry: { maxAttempts: 1 } }),
  });
});

afterEach(async () => {
  await openai.close();
  await anthropic.close();
});

describe('tool ids on failover to Anthropic', () => {
  // Four ids that the old character replacement all turned into `fc_1`.
  const ids = ['fc.1', 'fc:1', 'fc/1', 'fc_1'];
  const conversation: ChatMessage[] = [
    { role: 'user', content: 'Four lookups, please.' },
    {
      role: 'assistant',
      content: '',
      toolCalls: ids.map((id) => ({ id, name: 'lookup', arguments: { q: id } })),
    },
    ...ids.map((id): ChatMessage => ({ role: 'tool', toolCallId: id, content: `result ${id}` })),
  ];

  it('stay unique, and each tool_result names its own tool_use, on every turn alike', async () => {
    openai.respond(() => openaiReplies.error(500));
    const request: ChatRequest = { messages: conversation };
    expect((await router.chat(request)).provider).toBe('anthropic');
    expect((await router.chat(request)).provider).toBe('anthropic');
    const [first, second] = anthropic.requests;
    const uses = blocks(first!.body, 'tool_use').map((b) => b.id as string);
    expect(new Set(uses).size).toBe(4);
    for (const id of uses) expect(id).toMatch(/^[a-zA-Z0-9_-]+$/);
    // Result i answers call i, as in the neutral conversation.
    expect(blocks(first!.body, 'tool_result').map((b) => b.tool_use_id)).toEqual(uses);
    // Stable: the next turn maps the same ids the same way.
    expect(blocks(second!.body, 'tool_use').map((b) => b.id)).toEqual(uses);
    // An id Anthropic accepts is kept as it is.
    expect(uses[3]).toBe('fc_1');
  });

  it('one-to-one for any ids (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ maxLength: 12 }), { minLength: 2, maxLength: 8 }), (list) => {
        const mapped = list.map(anthropicToolId);
        expect(new Set(mapped).size).toBe(list.length);
        for (const m of mapped) expect(m).toMatch(/^[a-zA-Z0-9_-]+$/);
      }),
    );
  });

  it('a conversation that reuses one id for two calls is refused before any request, naming the field', async () => {
    // OpenAI does not mind repeated ids; fail it over so that Anthropic's translation is the one asked.
    openai.respond(() => openaiReplies.error(500));
    const refused = await caught(
      router.chat({
        messages: [
          { role: 'user', content: 'x' },
          { role: 'assistant', content: '', toolCalls: [{ id: 'a', name: 't', arguments: {} }] },
          { role: 'tool', toolCallId: 'a', content: 'r' },
          { role: 'assistant', content: '', toolCalls: [{ id: 'a', name: 't', arguments: {} }] },
          { role: 'tool', toolCallId: 'a', content: 'r' },
        ],
      }),
    );
    expect((refused as { failure: { kind: string } }).failure.kind).toBe('invalid_input');
    expect((refused as Error).message).toContain('messages[3].toolCalls[0].id');
    expect(anthropic.count).toBe(0);
  });
});

describe('tool calls without ids from a compatible server', () => {
  it('get fresh ids, different on every turn (never call_0 twice), in chats', async () => {
    openai.respond(() => openaiReplies.toolCalls([{ name: 'lookup', arguments: { q: 1 } }]));
    const a = await router.chat({ messages: [{ role: 'user', content: 'go' }] });
    const b = await router.chat({ messages: [{ role: 'user', content: 'go' }] });
    expect(a.toolCalls[0]!.id).not.toBe('');
    expect(a.toolCalls[0]!.id).not.toBe(b.toolCalls[0]!.id);
  });

  it('and in streams', async () => {
    openai.respond(() =>
      openaiReplies.streamToolCalls([
        { name: 'lookup', arguments: { q: 1 } },
        { name: 'lookup', arguments: { q: 2 } },
      ]),
    );
    const ids: string[] = [];
    for (let turn = 0; turn < 2; turn++) {
      for await (const c of router.stream({ messages: [{ role: 'user', content: 'go' }] }))
        if (c.type === 'finish') ids.push(...c.response.toolCalls.map((t) => t.id));
    }
    expect(ids).toHaveLength(4);
    expect(new Set(ids).size).toBe(4);
    expect(ids).not.toContain('call_0');
  });
});

describe('content and arguments in shapes the types do not promise', () => {
  it('array content from a compatible server is text, and reaches Anthropic as a string', async () => {
    openai.enqueue(
      openaiReplies.rawMessage({
        content: [
          { type: 'text', text: 'Hello ' },
          { type: 'image_url', image_url: { url: 'x' } },
          { type: 'text', text: 'world' },
        ],
      }),
    );
    const answer = await router.chat({ messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.message.content).toBe('Hello world');
    openai.respond(() => openaiReplies.error(500));
    await router.chat({
      messages: [{ role: 'user', content: 'hi' }, answer.message, { role: 'user', content: 'more' }],
    });
    const texts = blocks(anthropic.requests[0]!.body, 'text').map((b) => b.text);
    expect(texts).toEqual(['hi', 'Hello world', 'more']);
  });

  it('tool arguments as an object are the arguments; as a number, kept raw for the tool loop, no TypeError', async () => {
    openai.enqueue(
      openaiReplies.rawMessage(
        {
          content: null,
          tool_calls: [
            { id: 'c1', type: 'function', function: { name: 'lookup', arguments: { q: 'oslo' } } },
            { id: 'c2', type: 'function', function: { name: 'lookup', arguments: 42 } },
          ],
        },
        'tool_calls',
      ),
    );
    const answer = await router.chat({ messages: [{ role: 'user', content: 'go' }] });
    expect(answer.toolCalls[0]).toEqual({ id: 'c1', name: 'lookup', arguments: { q: 'oslo' } });
    expect(answer.toolCalls[1]).toEqual({ id: 'c2', name: 'lookup', arguments: {}, rawArguments: '42' });
  });

  it('Anthropic tool_use.input sent as text is parsed; text that is no object is kept raw, never {}', async () => {
    openai.respond(() => openaiReplies.error(500));
    anthropic.enqueue(
      anthropicReplies.toolUse([
        { id: 'toolu_1', name: 'lookup', input: '{"q":"oslo"}' },
        { id: 'toolu_2', name: 'lookup', input: 'not json' },
      ]),
    );
    const answer = await router.chat({ messages: [{ role: 'user', content: 'go' }] });
    expect(answer.toolCalls[0]).toEqual({ id: 'toolu_1', name: 'lookup', arguments: { q: 'oslo' } });
    expect(answer.toolCalls[1]).toMatchObject({ id: 'toolu_2', rawArguments: 'not json' });
  });
});
