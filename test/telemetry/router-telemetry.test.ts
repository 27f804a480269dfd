import { trace } from '@opentelemetry/api';
import { openaiReplies } from 'breakwater/testing';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { z } from 'zod';
import { createAnthropicProvider, createOpenAIProvider, createRouter } from '../../src/providers/index.js';
import { createTelemetry } from '../../src/telemetry/telemetry.js';
import { createRegistry } from '../../src/tools/registry.js';
import { startFakeAnthropic } from '../fakes/anthropic-server.js';
import { startFakeOpenAI } from '../fakes/openai-server.js';
import { everyRecordedString, installOtel } from '../fakes/otel.js';
import { anthropicClient, openaiClient, quickProfile } from '../providers/helpers.js';

let otel: ReturnType<typeof installOtel>;
beforeEach(() => {
  otel = installOtel();
});
afterEach(async () => {
  await otel.uninstall();
});

const SECRET = 'sk-live-9d8f7e6d5c4b3a29';

it('a failover: a route span, chat spans per provider attempt with GenAI attributes, a fallback event and metrics', async () => {
  const primary = await startFakeOpenAI();
  const secondary = await startFakeAnthropic();
  primary.respond(() => openaiReplies.error(500));
  try {
    const router = createRouter({
      providers: [
        createOpenAIProvider(openaiClient(primary.baseURL), { model: 'gpt-test' }),
        createAnthropicProvider(anthropicClient(secondary.baseURL), { model: 'claude-test' }),
      ],
      profile: quickProfile(),
      telemetry: createTelemetry(),
    });
    const answer = await trace.getTracer('app').startActiveSpan('agent turn', async (root) => {
      const r = await router.chat({ messages: [{ role: 'user', content: `my card is ${SECRET}` }] });
      root.end();
      return r;
    });
    expect(answer.provider).toBe('anthropic');
    const route = otel.span('breakwater.route chat');
    expect(route.parentSpanContext?.spanId).toBe(otel.span('agent turn').spanContext().spanId);
    const chats = otel.children(route);
    expect(chats.map((s) => s.name)).toEqual(['chat gpt-test', 'chat gpt-test', 'chat claude-test']);
    expect(chats[0]?.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-test',
      'breakwater.failure.kind': 'server_error',
      'error.type': 'http_500',
    });
    expect(chats[2]?.attributes).toMatchObject({
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.request.model': 'claude-test',
      'breakwater.attempt.outcome': 'ok',
    });
    expect(typeof chats[2]?.attributes['gen_ai.usage.input_tokens']).toBe('number');
    const fallback = route.events.find((e) => e.name === 'breakwater.fallback');
    expect(fallback?.attributes).toMatchObject({
      'breakwater.fallback.from': 'openai/gpt-test',
      'breakwater.fallback.to': 'anthropic/claude-test',
      'breakwater.fallback.reason': 'server_error',
    });
    const points = await otel.points();
    expect(points.find((p) => p.name === 'breakwater.fallbacks')?.value).toBe(1);
    const durations = points.filter((p) => p.name === 'gen_ai.client.operation.duration');
    expect(durations.map((p) => p.attributes['gen_ai.provider.name']).sort()).toEqual([
      'anthropic',
      'openai',
    ]);
    expect(
      points.some(
        (p) => p.name === 'gen_ai.client.token.usage' && p.attributes['gen_ai.token.type'] === 'input',
      ),
    ).toBe(true);
    // The prompt held a secret: with content capture off, no span or event carries it.
    expect(everyRecordedString(otel.spans()).join('\n')).not.toContain(SECRET);
  } finally {
    await primary.close();
    await secondary.close();
  }
});

it('leak test: secrets in tool arguments, results, errors and keys appear nowhere unless captured on purpose', async () => {
  const telemetry = createTelemetry();
  const registry = createRegistry({ telemetry });
  registry.register({
    name: 'charge_card',
    input: z.object({ card: z.string(), amount: z.number() }),
    idempotency: { honored: true, key: () => `key-${SECRET}` },
    execute: async ({ card }) => {
      if (card.endsWith('0')) throw new Error(`declined ${card}`);
      return { receipt: `paid with ${card}` };
    },
  });
  await registry.call('charge_card', { card: SECRET, amount: 1 }, { callId: 'call_1' });
  await registry.call('charge_card', { card: SECRET, amount: 1 }, { callId: 'call_1' }); // replayed
  await registry.handleToolCalls([
    { type: 'tool_use', id: 'toolu_2', name: 'charge_card', input: { card: `${SECRET}0`, amount: 2 } },
  ]);
  const spans = otel.spans().filter((s) => s.name === 'execute_tool charge_card');
  expect(spans.length).toBe(3);
  expect(spans.map((s) => s.attributes['breakwater.replayed'])).toContain(true);
  expect(everyRecordedString(otel.spans()).join('\n')).not.toContain(SECRET.slice(8));

  // Opting in records content, through the redact hook.
  await otel.uninstall();
  otel = installOtel();
  const capturing = createTelemetry({
    captureContent: true,
    redact: (v) => JSON.parse(JSON.stringify(v).replaceAll(SECRET, '[card]')),
  });
  const r2 = createRegistry({ telemetry: capturing });
  r2.register({
    name: 'lookup',
    effect: 'idempotent',
    input: z.object({ card: z.string() }),
    execute: async ({ card }) => ({ owner: 'x', card }),
  });
  await r2.call('lookup', { card: SECRET });
  const span = otel.span('execute_tool lookup');
  expect(span.attributes['gen_ai.tool.call.arguments']).toBe('{"card":"[card]"}');
  expect(String(span.attributes['gen_ai.tool.call.result'])).toContain('[card]');
  expect(everyRecordedString(otel.spans()).join('\n')).not.toContain(SECRET);
});

it('inside a framework’s own span for the same tool call, adds attempts under it instead of a duplicate span', async () => {
  const registry = createRegistry({ telemetry: createTelemetry() });
  let n = 0;
  registry.register({
    name: 'search',
    effect: 'idempotent',
    input: z.object({ q: z.string() }),
    profile: { retry: { backoff: { initialMs: 0, maxMs: 0 } } },
    execute: async () => {
      if (n++ === 0) throw Object.assign(new Error('HTTP 503'), { status: 503, headers: {} });
      return 'found';
    },
  });
  // The Vercel AI SDK's span for a tool call, as ai@6 names it.
  await trace
    .getTracer('ai')
    .startActiveSpan(
      'ai.toolCall',
      { attributes: { 'ai.toolCall.name': 'search', 'ai.toolCall.id': 'call_42' } },
      async (span) => {
        await registry.call('search', { q: 'x' }, { callId: 'call_42' });
        span.end();
      },
    );
  const framework = otel.span('ai.toolCall');
  expect(otel.spans().some((s) => s.name === 'execute_tool search')).toBe(false);
  expect(framework.attributes).toMatchObject({ 'gen_ai.tool.name': 'search', 'breakwater.attempts': 2 });
  expect(otel.children(framework).map((s) => s.attributes['breakwater.attempt'])).toEqual([1, 2]);

  // Another call id: breakwater opens its own span, as a child.
  await trace
    .getTracer('ai')
    .startActiveSpan('ai.toolCall', { attributes: { 'ai.toolCall.id': 'call_other' } }, async (span) => {
      await registry.call('search', { q: 'y' }, { callId: 'call_43' });
      span.end();
    });
  expect(otel.spans().filter((s) => s.name === 'execute_tool search')).toHaveLength(1);
});
