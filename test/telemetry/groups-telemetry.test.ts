import { afterEach, beforeEach, expect, it } from 'vitest';
import { createAnthropicProvider, createOpenAIProvider, createRouter } from '../../src/providers/index.js';
import { createTelemetry } from '../../src/telemetry/telemetry.js';
import { startFakeAnthropic } from '../fakes/anthropic-server.js';
import { openaiReplies, startFakeOpenAI } from '../fakes/openai-server.js';
import { everyRecordedString, installOtel } from '../fakes/otel.js';
import { anthropicClient, openaiClient, quickProfile } from '../providers/helpers.js';

type Fake = Awaited<ReturnType<typeof startFakeOpenAI>>;

let otel: ReturnType<typeof installOtel>;
let tiny: Fake;
let east: Fake;
let west: Fake;
let claude: Fake;

beforeEach(async () => {
  otel = installOtel();
  [tiny, east, west, claude] = await Promise.all([
    startFakeOpenAI(),
    startFakeOpenAI(),
    startFakeOpenAI(),
    startFakeAnthropic(),
  ]);
});
afterEach(async () => {
  await Promise.all([tiny.close(), east.close(), west.close(), claude.close()]);
  await otel.uninstall();
});

const PROMPT = `secret plan ${'x'.repeat(2_000)}`;

function router() {
  const gpt = (f: Fake, id: string, contextWindow?: number) => ({
    id,
    provider: createOpenAIProvider(openaiClient(f.baseURL), { model: 'gpt-test' }),
    ...(contextWindow ? { contextWindow } : {}),
  });
  return createRouter({
    groups: {
      fast: {
        deployments: [gpt(tiny, 'tiny', 100), gpt(east, 'east'), gpt(west, 'west')],
        fallbacks: { unavailable: 'long' },
      },
      long: {
        deployments: [createAnthropicProvider(anthropicClient(claude.baseURL), { model: 'claude-test' })],
      },
    },
    profile: quickProfile(),
    telemetry: createTelemetry(),
  });
}

it('says which group and deployment served, which were skipped and why, and moves between deployments', async () => {
  east.respond(() => openaiReplies.error(500));
  const res = await router().chat({ messages: [{ role: 'user', content: PROMPT }] });
  expect(res.deployment).toBe('west');

  const route = otel.span('breakwater.route chat');
  expect(route.attributes).toMatchObject({ 'breakwater.group': 'fast', 'breakwater.deployment': 'west' });
  const skipped = route.events.filter((e) => e.name === 'breakwater.deployment.skipped');
  expect(skipped.map((e) => e.attributes)).toEqual([
    {
      'breakwater.deployment': 'tiny',
      'breakwater.group': 'fast',
      'breakwater.skip_reason': 'context_too_small',
    },
  ]);
  const fallbacks = route.events.filter((e) => e.name === 'breakwater.fallback');
  expect(fallbacks.map((e) => e.attributes)).toEqual([
    // A skip moves the call on too (as v1 recorded a skipped provider).
    {
      'breakwater.fallback.from': 'tiny',
      'breakwater.fallback.to': 'east',
      'breakwater.fallback.reason': 'client_error',
    },
    {
      'breakwater.fallback.from': 'east',
      'breakwater.fallback.to': 'west',
      'breakwater.fallback.reason': 'server_error',
    },
  ]);
  // One chat span per attempt, none for the skipped deployment.
  expect(otel.children(route).map((s) => s.attributes['breakwater.dependency'])).toEqual(['east', 'west']);

  // Per-deployment metrics: the chat duration carries the deployment as its dependency.
  const durations = (await otel.points()).filter((p) => p.name === 'gen_ai.client.operation.duration');
  expect(durations.map((p) => p.attributes['breakwater.dependency']).sort()).toEqual(['east', 'west']);
  expect(everyRecordedString(otel.spans()).join('\n')).not.toContain('secret plan');
});

it('records a move between groups with its fallback class', async () => {
  for (const f of [tiny, east]) f.respond(() => openaiReplies.error(500));
  west.respond(() => openaiReplies.error(503));
  const res = await router().chat({ messages: [{ role: 'user', content: 'hi' }] });
  expect(res.provider).toBe('anthropic');

  const route = otel.span('breakwater.route chat');
  expect(route.attributes).toMatchObject({
    'breakwater.group': 'long',
    'breakwater.deployment': 'anthropic/claude-test',
  });
  const hop = route.events.find(
    (e) => e.name === 'breakwater.fallback' && e.attributes?.['breakwater.fallback_class'] !== undefined,
  );
  expect(hop?.attributes).toMatchObject({
    'breakwater.fallback.from': 'fast',
    'breakwater.fallback.to': 'long',
    'breakwater.fallback_class': 'unavailable',
  });
  const counted = (await otel.points()).filter(
    (p) => p.name === 'breakwater.fallbacks' && p.attributes['breakwater.fallback_class'] === 'unavailable',
  );
  expect(counted.map((p) => p.value)).toEqual([1]);
});
