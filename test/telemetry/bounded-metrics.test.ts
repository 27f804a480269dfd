import { afterEach, beforeEach, expect, it } from 'vitest';
import { createOpenAIProvider, createRouter } from '../../src/providers/index.js';
import { createTelemetry } from '../../src/telemetry/telemetry.js';
import { startFakeOpenAI } from '../fakes/openai-server.js';
import { installOtel } from '../fakes/otel.js';
import { hello, openaiClient, quickProfile } from '../providers/helpers.js';

let otel: ReturnType<typeof installOtel>;
beforeEach(() => {
  otel = installOtel();
});
afterEach(async () => {
  await otel.uninstall();
});

it('a provider that names a new model on every answer cannot grow the metric series without bound', async () => {
  const server = await startFakeOpenAI();
  let n = 0;
  server.respond(() => ({
    kind: 'json',
    body: {
      id: `chatcmpl-${n}`,
      object: 'chat.completion',
      created: 1_700_000_000,
      model: `gpt-test-${n++}`,
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    },
  }));
  try {
    const router = createRouter({
      providers: [createOpenAIProvider(openaiClient(server.baseURL), { model: 'gpt-test' })],
      profile: quickProfile(),
      telemetry: createTelemetry(),
    });
    for (let i = 0; i < 50; i++) await router.chat(hello);
    const models = new Set(
      (await otel.points())
        .filter((p) => p.name === 'gen_ai.client.token.usage')
        .map((p) => p.attributes['gen_ai.response.model']),
    );
    expect(models.size).toBe(21);
    expect(models.has('_OTHER')).toBe(true);
    // Spans still say what each answer said: they are not series.
    expect(otel.spans().filter((s) => s.attributes['gen_ai.response.model'] === 'gpt-test-49')).toHaveLength(
      1,
    );
  } finally {
    await server.close();
  }
});
