/**
 * Fuzz: whatever a provider (or a proxy in front of it) answers — invalid
 * JSON, a body cut off mid-way, the wrong content type, missing fields,
 * huge headers, garbage in a stream — a routed call through the official SDK
 * ends as a well-formed answer or a classified failure: never a crash, a
 * hang or a wait past its deadline. Time is a step clock that moves only
 * while no request is in flight, so "past its deadline" is exact.
 */
import Anthropic from '@anthropic-ai/sdk';
import {
  createStepClock,
  type FakeHttpServer,
  type FakeReply,
  type StepClock,
  TRACK_HEADER,
} from 'breakwater/testing';
import fc from 'fast-check';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClassifyingFetch } from '../../src/failure/classifying-fetch.js';
import { isBreakwaterError } from '../../src/failure/errors.js';
import { createAnthropicProvider } from '../../src/providers/anthropic.js';
import { createOpenAIProvider } from '../../src/providers/openai.js';
import { createRouter, type Router } from '../../src/providers/router.js';
import type { ChatChunk, ChatRequest, ChatResponse } from '../../src/providers/types.js';
import { hostileRetryAfterValues } from '../chaos/arbitraries.js';
import { DEADLINE_TOLERANCE_MS, params, runsFor } from '../chaos/config.js';
import { type ChaosTracker, createChaosTracker, drive, trackedFetch } from '../chaos/http.js';
import { startFakeAnthropic } from '../fakes/anthropic-server.js';
import { startFakeOpenAI } from '../fakes/openai-server.js';

type Fake = FakeHttpServer & { readonly baseURL: string };
type Format = 'openai' | 'anthropic';

let tracker: ChaosTracker;
const fakes = {} as Record<Format, Fake>;
let script: FakeReply[] = [];

beforeAll(async () => {
  tracker = createChaosTracker();
  [fakes.openai, fakes.anthropic] = await Promise.all([startFakeOpenAI(), startFakeAnthropic()]);
  for (const fake of Object.values(fakes)) {
    fake.respond((rec) => {
      const reply = script.shift() ?? { kind: 'hang' };
      const id = rec.headers[TRACK_HEADER];
      if (typeof id === 'string' && (reply.kind === 'hang' || (reply.kind === 'sse' && reply.end === 'hang')))
        tracker.hold(id);
      return reply;
    });
  }
});
afterAll(async () => {
  await Promise.all(Object.values(fakes).map((f) => f.close()));
});

const DEADLINE_MS = 5_000;
const hello: ChatRequest = { messages: [{ role: 'user', content: 'Say ok.' }] };

function router(format: Format, clock: StepClock): Router {
  const fetch = createClassifyingFetch({ connectTimeoutMs: 2_000, fetch: trackedFetch(tracker) });
  const provider =
    format === 'openai'
      ? createOpenAIProvider(
          new OpenAI({ apiKey: 'sk-test', baseURL: fakes.openai.baseURL, fetch, logLevel: 'off' }),
          {
            model: 'gpt-test',
          },
        )
      : createAnthropicProvider(
          new Anthropic({ apiKey: 'sk-ant-test', baseURL: fakes.anthropic.baseURL, fetch, logLevel: 'off' }),
          {
            model: 'claude-test',
          },
        );
  return createRouter({
    providers: [provider],
    profile: {
      extends: 'llm',
      timeout: { attemptMs: 1_000, totalMs: DEADLINE_MS },
      retry: {
        maxAttempts: 2,
        backoff: { kind: 'constant', initialMs: 0, maxMs: 0 },
        maxRetryAfterMs: 2_000,
      },
      breaker: false,
    },
    clock,
    random: () => 0.5,
  });
}

type Ended = { ok: true; value: ChatResponse | ChatChunk[] } | { ok: false; error: unknown };

/** One routed call (or stream, read to its end) against `replies`; checks it ends, classified, by its deadline. */
async function call(format: Format, stream: boolean, replies: FakeReply[]): Promise<Ended> {
  script = [...replies];
  const clock = createStepClock();
  const r = router(format, clock);
  const start = clock.now();
  const run = async (): Promise<ChatResponse | ChatChunk[]> => {
    if (!stream) return r.chat(hello);
    const chunks: ChatChunk[] = [];
    for await (const c of r.stream(hello)) chunks.push(c);
    return chunks;
  };
  let ended: Ended;
  try {
    ended = { ok: true, value: await drive(clock, tracker, run()) };
  } catch (error) {
    ended = { ok: false, error };
  }
  script = [];
  if (!ended.ok && String(ended.error).includes('never forever')) throw ended.error;
  expect(clock.now() - start).toBeLessThanOrEqual(DEADLINE_MS + DEADLINE_TOLERANCE_MS);
  if (ended.ok) {
    const response = Array.isArray(ended.value)
      ? (ended.value.at(-1) as Extract<ChatChunk, { type: 'finish' }>).response
      : ended.value;
    // An answer that got through is well formed, whatever fields the provider left out.
    expect(typeof response.message.content).toBe('string');
    expect(Array.isArray(response.toolCalls)).toBe(true);
    for (const tc of response.toolCalls) expect(typeof tc.arguments).toBe('object');
  } else {
    expect(isBreakwaterError(ended.error), String(ended.error)).toBe(true);
  }
  return ended;
}

const json = (body: string, status = 200, headers: Record<string, string> = {}): FakeReply => ({
  kind: 'raw',
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body,
});
const sse = (body: string, headers: Record<string, string> = {}): FakeReply => ({
  kind: 'raw',
  status: 200,
  headers: { 'content-type': 'text/event-stream', ...headers },
  body,
});

/** Malformed answers, each as it would come twice (the call's two attempts). */
const MALFORMED: Record<string, FakeReply> = {
  'invalid JSON': json('{"id": "chatcmpl", "choices": [{"message": '),
  'truncated body': {
    kind: 'raw',
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: '{"id":',
    truncate: true,
  },
  'wrong content type': {
    kind: 'raw',
    status: 200,
    headers: { 'content-type': 'text/html' },
    body: '<html>Bad Gateway</html>',
  },
  'no content type': { kind: 'raw', status: 200, body: '{"choices": []}' },
  'empty body': json(''),
  'JSON null': json('null'),
  'JSON array': json('[]'),
  'missing fields': json('{}'),
  'empty choices / content': json('{"choices": [], "content": []}'),
  'fields of the wrong type': json(
    '{"choices": [{"message": {"content": 42, "tool_calls": [{"id": 1, "function": {"name": null, "arguments": {"x": 1}}}]}}], "type": "message", "content": "not an array", "usage": "lots"}',
  ),
  'tool call with broken arguments': json(
    '{"model": "m", "choices": [{"message": {"content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "t", "arguments": "{\\"a\\": "}}]}, "finish_reason": "tool_calls"}], "type": "message", "role": "assistant", "content": [{"type": "tool_use", "id": "c1", "name": "t", "input": "not an object"}], "stop_reason": "tool_use"}',
  ),
  'an error body with HTTP 200': json('{"error": {"type": "server_error", "message": "oops"}}'),
  'HTTP 500 with invalid JSON': json('{"error": ', 500),
  'HTTP 429 with an absurd Retry-After': json('{"error": {}}', 429, { 'retry-after': '1e99' }),
  'HTTP 418 with a huge body': json(JSON.stringify({ error: { message: 'x'.repeat(512 * 1024) } }), 418),
  'huge header': json('{}', 200, { 'x-junk': 'a'.repeat(128 * 1024) }),
  'many headers': json(
    '{}',
    200,
    Object.fromEntries(Array.from({ length: 3_000 }, (_, i) => [`x-h${i}`, 'v'])),
  ),
  'garbage in the stream': sse('data: {not json\n\nevent: message_start\ndata: ]]]\n\n'),
  'a stream that ends without its closing event': sse(
    'data: {"choices":[{"delta":{"content":"o"}}]}\n\nevent: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"o"}}\n\n',
  ),
  'a stream cut off mid-event': {
    kind: 'raw',
    status: 200,
    headers: { 'content-type': 'text/event-stream' },
    body: 'data: {"choi',
    truncate: true,
  },
};

describe('fuzz: malformed provider responses', () => {
  for (const format of ['openai', 'anthropic'] as const) {
    for (const [name, reply] of Object.entries(MALFORMED)) {
      it(`${format}, ${name}: chat and stream end classified, by their deadline`, async () => {
        await call(format, false, [reply, reply]);
        await call(format, true, [reply, reply]);
      });
    }
  }

  it('invalid JSON, a cut-off body or the wrong content type is a classified, retryable failure', async () => {
    for (const name of ['invalid JSON', 'truncated body', 'wrong content type', 'missing fields']) {
      for (const format of ['openai', 'anthropic'] as const) {
        const ended = await call(format, false, [MALFORMED[name]!, MALFORMED[name]!]);
        expect(ended.ok, `${format}: ${name}`).toBe(false);
        if (!ended.ok && isBreakwaterError(ended.error)) {
          expect(ended.error.retryable, `${format}: ${name}`).toBe(true);
          expect(ended.error.attempts.length, `${format}: ${name}`).toBe(2);
        }
      }
    }
  });

  const CONTENT_TYPES = [
    'application/json',
    'text/event-stream',
    'text/html',
    'text/plain',
    'application/octet-stream',
  ];
  const STATUSES = [200, 201, 400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504, 529, 599];
  const retryAfter = hostileRetryAfterValues();
  const bodyArb = fc.oneof(
    fc.string(),
    fc.json(),
    fc.jsonValue().map((v) => JSON.stringify({ choices: [{ message: v }], content: v, type: 'message' })),
    fc.array(fc.string(), { maxLength: 5 }).map((lines) => lines.map((l) => `data: ${l}\n\n`).join('')),
  );
  const replyArb: fc.Arbitrary<FakeReply> = fc.record({
    kind: fc.constant('raw' as const),
    status: fc.constantFrom(...STATUSES),
    headers: fc
      .tuple(fc.constantFrom(...CONTENT_TYPES), fc.option(fc.constantFrom(...retryAfter), { nil: undefined }))
      .map(([type, ra]) => ({ 'content-type': type, ...(ra ? { [ra.header]: ra.value } : {}) })),
    body: bodyArb,
    truncate: fc.boolean(),
  });

  it('random answers: every call ends as a well-formed answer or a classified failure, by its deadline', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('openai' as const, 'anthropic' as const),
        fc.boolean(),
        fc.array(replyArb, { minLength: 2, maxLength: 2 }),
        async (format, stream, replies) => {
          await call(format, stream, replies);
        },
      ),
      params(runsFor(60)),
    );
  });
});
