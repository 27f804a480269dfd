import { generateText, stepCountIs } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { createAiSdkTools } from '../../../src/ai-sdk.js';
import { keyFromCallId } from '../../../src/idempotency/keys.js';
import { travelRegistry } from '../fixtures.js';

type GenerateResult = Awaited<ReturnType<MockLanguageModelV3['doGenerate']>>;

const usage = {
  inputTokens: { total: 10, noCache: 10, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 5, text: 5, reasoning: 0 },
};

function toolCalls(...calls: Array<{ id: string; name: string; input: unknown }>): GenerateResult {
  return {
    content: calls.map((c) => ({
      type: 'tool-call' as const,
      toolCallId: c.id,
      toolName: c.name,
      input: JSON.stringify(c.input),
    })),
    finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
    usage,
    warnings: [],
  };
}

function text(value: string): GenerateResult {
  return {
    content: [{ type: 'text', text: value }],
    finishReason: { unified: 'stop', raw: 'stop' },
    usage,
    warnings: [],
  };
}

/** A model that plays its script one step per call. */
function scripted(...steps: GenerateResult[]) {
  let i = 0;
  return new MockLanguageModelV3({
    doGenerate: async () => {
      const step = steps[i++];
      if (!step) throw new Error('the script ran out');
      return step;
    },
  });
}

describe('AI SDK adapter (ai@6)', () => {
  it('exposes registry tools with their descriptions and JSON schemas', () => {
    const { registry } = travelRegistry();
    const tools = createAiSdkTools(registry, { exclude: ['slow_search'] });
    expect(Object.keys(tools)).toEqual(['get_weather', 'book_hotel']);
    expect(tools.get_weather?.description).toBe('The weather in a city.');
    expect(() => createAiSdkTools(registry, { only: ['nope'] })).toThrow(/no tool "nope"/);
  });

  it('retries an idempotent tool, never re-runs a non-idempotent one, and tells the model which is which', async () => {
    const { registry, runs, seen } = travelRegistry();
    const model = scripted(
      toolCalls(
        { id: 'call_w', name: 'get_weather', input: { city: 'Oslo' } },
        { id: 'call_b', name: 'book_hotel', input: { hotel: 'Grand' } },
      ),
      text('Sunny in Oslo; the booking may or may not have gone through.'),
    );

    const result = await generateText({
      model,
      prompt: 'Weather in Oslo, and book the Grand.',
      tools: createAiSdkTools(registry),
      stopWhen: stepCountIs(3),
    });

    expect(result.text).toMatch(/Sunny/);
    expect(runs.weather).toBe(2);
    expect(runs.booking).toBe(1);

    // The AI SDK's call ids are the keys' source, the same on every attempt.
    const weather = seen.filter((s) => s.tool === 'get_weather');
    expect(weather.map((s) => s.callId)).toEqual(['call_w', 'call_w']);
    expect(weather.map((s) => s.key)).toEqual([
      keyFromCallId('get_weather', 'call_w'),
      keyFromCallId('get_weather', 'call_w'),
    ]);

    // What the model read back in its second turn.
    const prompt = model.doGenerateCalls[1]?.prompt ?? [];
    const results = prompt.flatMap((m) =>
      m.role === 'tool' ? m.content.filter((p) => p.type === 'tool-result') : [],
    );
    const byId = Object.fromEntries(results.map((r) => [r.toolCallId, r.output]));
    expect(byId.call_w).toEqual({ type: 'json', value: { city: 'Oslo', sky: 'clear' } });
    expect(byId.call_b).toMatchObject({
      type: 'error-json',
      value: { error: { type: 'outcome_unknown', outcome: 'unknown', retryable: false } },
    });

    // The application sees a tool result, not a crash.
    const booking = result.steps[0]?.toolResults.find((r) => r.toolCallId === 'call_b');
    expect(booking?.output).toMatchObject({ error: { outcome: 'unknown' } });
  });

  it('answers bad arguments with the structured invalid_input error', async () => {
    const { registry, runs } = travelRegistry();
    const model = scripted(
      toolCalls({ id: 'call_x', name: 'get_weather', input: { town: 'Oslo' } }),
      text('ok'),
    );
    const result = await generateText({
      model,
      prompt: 'x',
      tools: createAiSdkTools(registry),
      stopWhen: stepCountIs(3),
    });
    expect(runs.weather).toBe(0);
    expect(result.steps[0]?.toolResults[0]?.output).toMatchObject({
      error: { type: 'invalid_input', outcome: 'failed', details: { tool: 'get_weather' } },
    });
  });

  it("passes the AI SDK's abort signal to the running operation", async () => {
    const { registry, searchStarted, searchAborts, seen } = travelRegistry();
    const controller = new AbortController();
    const model = scripted(
      toolCalls({ id: 'call_s', name: 'slow_search', input: { q: 'hotels' } }),
      text('never'),
    );
    const run = generateText({
      model,
      prompt: 'search',
      tools: createAiSdkTools(registry),
      stopWhen: stepCountIs(3),
      abortSignal: controller.signal,
    });
    await searchStarted;
    controller.abort(new Error('user left'));
    await expect(run).rejects.toThrow();
    expect(searchAborts).toHaveLength(1);
    expect(seen[0]?.signal.aborted).toBe(true);
    expect(seen[0]?.callId).toBe('call_s');
  });
});
