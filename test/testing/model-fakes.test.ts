/**
 * The fake models through the real `openai` and `@anthropic-ai/sdk` clients:
 * scripted turns and the echo, every fault of the vocabulary as each SDK sees
 * it, the schedules, and the counters and request log of what the server did.
 */
import Anthropic from '@anthropic-ai/sdk';
import {
  createFakeAnthropic,
  createFakeOpenAI,
  type FakeModel,
  type Fault,
  type RecordedRequest,
} from 'breakwater/testing';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';

const open: FakeModel[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f.close()));
});

async function fakes() {
  const openai = await createFakeOpenAI();
  const anthropic = await createFakeAnthropic();
  open.push(openai, anthropic);
  return {
    openai,
    anthropic,
    oa: new OpenAI({ apiKey: 'sk-test', baseURL: openai.baseURL, maxRetries: 0 }),
    an: new Anthropic({ apiKey: 'sk-ant-test', baseURL: anthropic.baseURL, maxRetries: 0 }),
  };
}

const ask = (text: string) => [{ role: 'user' as const, content: text }];

/** What the client saw: a status, or a connection error. */
async function outcome(p: Promise<unknown>): Promise<{ status?: number; headers?: Headers; error?: string }> {
  try {
    await p;
    return { status: 200 };
  } catch (e) {
    const err = e as { status?: number; headers?: Headers; constructor: { name: string } };
    return err.status !== undefined
      ? { status: err.status, headers: err.headers }
      : { error: err.constructor.name };
  }
}

describe('scripted turns and the echo', () => {
  it('answers the script in each format, JSON or stream as asked, then echoes the last user message', async () => {
    const { openai, anthropic, oa, an } = await fakes();
    const turns = [
      { toolCalls: [{ name: 'charge_card', arguments: { order: 'A-17' } }] },
      { text: 'Paid.' },
    ] as const;
    openai.script(...turns);
    anthropic.script(...turns);

    const o1 = await oa.chat.completions.create({ model: 'gpt-test', messages: ask('pay') });
    expect(o1.choices[0]?.message.tool_calls?.[0]).toMatchObject({
      type: 'function',
      function: { name: 'charge_card', arguments: '{"order":"A-17"}' },
    });
    let streamed = '';
    for await (const chunk of await oa.chat.completions.create({
      model: 'gpt-test',
      messages: ask('x'),
      stream: true,
    }))
      streamed += chunk.choices[0]?.delta.content ?? '';
    expect(streamed).toBe('Paid.');
    const o3 = await oa.chat.completions.create({ model: 'gpt-test', messages: ask('hello there') });
    expect(o3.choices[0]?.message.content).toBe('echo: hello there');

    const a1 = await an.messages.create({ model: 'claude-test', max_tokens: 64, messages: ask('pay') });
    expect(a1.content.find((b) => b.type === 'tool_use')).toMatchObject({
      name: 'charge_card',
      input: { order: 'A-17' },
    });
    const a2 = await an.messages
      .stream({ model: 'claude-test', max_tokens: 64, messages: ask('x') })
      .finalMessage();
    expect(a2.content).toMatchObject([{ type: 'text', text: 'Paid.' }]);
    const a3 = await an.messages.create({
      model: 'claude-test',
      max_tokens: 64,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
    });
    expect(a3.content).toEqual([{ type: 'text', text: 'echo: hi' }]);
    expect(openai.counters).toMatchObject({ requests: 3, processed: 3, faults: 0 });
  });

  it('sends the providers’ rate-limit headers with every answer', async () => {
    const { oa, an } = await fakes();
    const o = await oa.chat.completions.create({ model: 'gpt-test', messages: ask('x') }).withResponse();
    expect(o.response.headers.get('x-ratelimit-remaining-requests')).toBe('499');
    const a = await an.messages
      .create({ model: 'claude-test', max_tokens: 8, messages: ask('x') })
      .withResponse();
    expect(a.response.headers.get('anthropic-ratelimit-requests-remaining')).toBe('49');
  });
});

describe('faults as the SDKs see them', () => {
  const table: Array<[Fault, (o: Awaited<ReturnType<typeof outcome>>) => void]> = [
    ['rate_limited', (o) => expect([o.status, o.headers?.get('retry-after')]).toEqual([429, '1'])],
    [
      'rate_limited_http_date',
      (o) => {
        expect(o.status).toBe(429);
        expect(Number.isNaN(Date.parse(o.headers?.get('retry-after') ?? ''))).toBe(false);
      },
    ],
    ['rate_limited_ms', (o) => expect([o.status, o.headers?.get('retry-after-ms')]).toEqual([429, '1000'])],
    ['rate_limited_no_hint', (o) => expect([o.status, o.headers?.get('retry-after')]).toEqual([429, null])],
    ['error_500', (o) => expect(o.status).toBe(500)],
    ['error_503', (o) => expect(o.status).toBe(503)],
    ['overloaded_529', (o) => expect(o.status).toBe(529)],
    ['error_500_after_processing', (o) => expect(o.status).toBe(500)],
    ['reset_before_read', (o) => expect(o.error).toBe('APIConnectionError')],
    ['reset_after_read', (o) => expect(o.error).toBe('APIConnectionError')],
    ['reset_after_processing', (o) => expect(o.error).toBe('APIConnectionError')],
  ];
  for (const [fault, check] of table) {
    it(`${fault}: both SDKs see it, and the counters say whether the work was done`, async () => {
      const { openai, anthropic, oa, an } = await fakes();
      openai.inject([fault]);
      anthropic.inject([fault]);
      check(await outcome(oa.chat.completions.create({ model: 'gpt-test', messages: ask('x') })));
      check(await outcome(an.messages.create({ model: 'claude-test', max_tokens: 8, messages: ask('x') })));
      const processed = fault.endsWith('_after_processing') ? 1 : 0;
      for (const fake of [openai, anthropic]) {
        expect(fake.counters).toMatchObject({ requests: 1, faults: 1, processed });
        expect(fake.requests[0]?.fault).toBe(fault);
        // The body is in the log unless the connection was cut before it was read.
        expect(fake.requests[0]?.body === undefined).toBe(fault === 'reset_before_read');
      }
      // A fault does not use up the script: the next request gets the normal answer.
      const next = await oa.chat.completions.create({ model: 'gpt-test', messages: ask('again') });
      expect(next.choices[0]?.message.content).toBe('echo: again');
    });
  }

  it('rate_limited_reset_headers: each provider’s own reset header, no Retry-After', async () => {
    const { openai, anthropic, oa, an } = await fakes();
    openai.inject(['rate_limited_reset_headers']);
    anthropic.inject(['rate_limited_reset_headers']);
    const o = await outcome(oa.chat.completions.create({ model: 'gpt-test', messages: ask('x') }));
    expect([o.status, o.headers?.get('x-ratelimit-reset-requests'), o.headers?.get('retry-after')]).toEqual([
      429,
      '1000ms',
      null,
    ]);
    const a = await outcome(an.messages.create({ model: 'claude-test', max_tokens: 8, messages: ask('x') }));
    expect(a.status).toBe(429);
    expect(a.headers?.get('anthropic-ratelimit-requests-reset')).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('stream_cut: the first chunk arrives, then the connection goes', async () => {
    const { openai, oa } = await fakes();
    openai.inject(['stream_cut']);
    const seen: string[] = [];
    const o = await outcome(
      (async () => {
        const stream = await oa.chat.completions.create({
          model: 'gpt-test',
          messages: ask('abcd'),
          stream: true,
        });
        for await (const c of stream) seen.push(c.choices[0]?.delta.content ?? '');
      })(),
    );
    expect(o.status).not.toBe(200);
    expect(seen.join('')).toBe('echo:'); // the first half of `echo: abcd`
    expect(openai.counters).toMatchObject({ resets: 1, processed: 1 });
  });

  it('stream_stall: the first chunk arrives, then nothing until the client gives up', async () => {
    const { anthropic, an } = await fakes();
    anthropic.inject(['stream_stall']);
    const controller = new AbortController();
    const seen: string[] = [];
    const o = await outcome(
      (async () => {
        const stream = an.messages.stream(
          { model: 'claude-test', max_tokens: 8, messages: ask('abcd') },
          { signal: controller.signal },
        );
        stream.on('text', (t) => {
          seen.push(t);
          controller.abort(); // the client gives up once the first chunk has come
        });
        await stream.finalMessage();
      })(),
    );
    expect(o.status).not.toBe(200);
    expect(seen).toEqual(['echo:']);
    await anthropic.until((rs) => rs[0]?.clientClosed === true);
    expect(anthropic.counters.clientCloses).toBe(1);
  });

  it('slow_answer: the normal answer, late', async () => {
    const openai = await createFakeOpenAI({ slowAnswerMs: 20 });
    open.push(openai);
    openai.inject(['slow_answer']);
    const oa = new OpenAI({ apiKey: 'sk-test', baseURL: openai.baseURL, maxRetries: 0 });
    const r = await oa.chat.completions.create({ model: 'gpt-test', messages: ask('late') });
    expect(r.choices[0]?.message.content).toBe('echo: late');
    expect(openai.requests[0]?.fault).toBe('slow_answer');
  });
});

describe('fault schedules', () => {
  const faultsOf = (rs: readonly RecordedRequest[]) => rs.map((r) => r.fault);

  async function hit(n: number, fake: FakeModel, oa: OpenAI) {
    for (let i = 0; i < n; i++)
      await outcome(oa.chat.completions.create({ model: 'gpt-test', messages: ask('x') }));
    return faultsOf(fake.requests);
  }

  it('a queue: its faults in order, then none', async () => {
    const { openai, oa } = await fakes();
    openai.inject(['error_500', 'none', 'overloaded_529']);
    expect(await hit(4, openai, oa)).toEqual(['error_500', 'none', 'overloaded_529', 'none']);
  });

  it('a probability with a seed: the same seed, the same faults; 0 never, 1 always', async () => {
    const runs: Fault[][] = [];
    for (const seed of [7, 7, 8]) {
      const { openai, oa } = await fakes();
      openai.inject({ probability: 0.5, seed, faults: ['error_500', 'error_503'] });
      runs.push(await hit(12, openai, oa));
    }
    expect(runs[0]).toEqual(runs[1]);
    expect(runs[0]).not.toEqual(runs[2]);
    expect(new Set(runs[0])).toEqual(new Set(['none', 'error_500', 'error_503']));
    const { openai, oa } = await fakes();
    openai.inject({ probability: 1, seed: 1, faults: ['error_503'] });
    expect(await hit(3, openai, oa)).toEqual(['error_503', 'error_503', 'error_503']);
    expect(() => openai.inject({ probability: 1.5, seed: 1 })).toThrow(
      /probability must be in \[0, 1\], got 1.5/,
    );
  });

  it('a function of the request: chooses from its index and headers', async () => {
    const { openai, oa } = await fakes();
    openai.inject((r) => (r.headers['x-tenant'] === 'b' || r.index === 0 ? 'error_500' : undefined));
    await outcome(oa.chat.completions.create({ model: 'gpt-test', messages: ask('x') }));
    await outcome(oa.chat.completions.create({ model: 'gpt-test', messages: ask('x') }));
    await outcome(
      oa.chat.completions.create({ model: 'gpt-test', messages: ask('x') }, { headers: { 'x-tenant': 'b' } }),
    );
    expect(faultsOf(openai.requests)).toEqual(['error_500', 'none', 'error_500']);
  });
});

describe('the request log', () => {
  it('holds each request’s route, headers, parsed body and idempotency key', async () => {
    const { openai, oa } = await fakes();
    await oa.chat.completions.create(
      { model: 'gpt-test', messages: ask('log me') },
      { headers: { 'Idempotency-Key': 'key-1' } },
    );
    const [r] = openai.requests;
    expect(r).toMatchObject({ route: 'POST /v1/chat/completions', idempotencyKey: 'key-1', answer: 200 });
    expect(r?.headers.authorization).toBe('Bearer sk-test');
    expect(r?.body).toMatchObject({ model: 'gpt-test', messages: ask('log me') });
    expect(openai.idempotencyKeys).toEqual(['key-1']);
    expect(openai.counters.statuses).toEqual({ 200: 1 });
  });
});
