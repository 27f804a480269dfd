import { Agent, Runner } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { describe, expect, it } from 'vitest';
import { keyFromCallId } from '../../../src/idempotency/keys.js';
import { createAgentsTools } from '../../../src/openai-agents.js';
import { travelRegistry } from '../fixtures.js';

/** Runs on the scripted model only: no provider, no tracing exporter, no network. */
const runner = new Runner({ tracingDisabled: true });

/** The `function_call_result` items the model was sent in a call, by call id. */
function toolOutputs(model: ScriptedModel, call: number): Record<string, unknown> {
  const input = model.calls[call]?.request.input;
  const out: Record<string, unknown> = {};
  if (!Array.isArray(input)) return out;
  for (const item of input) {
    if (item.type !== 'function_call_result') continue;
    const o = item.output;
    out[item.callId] = typeof o === 'string' ? o : !Array.isArray(o) && o.type === 'text' ? o.text : o;
  }
  return out;
}

describe('OpenAI Agents SDK adapter (@openai/agents@0.20)', () => {
  it('makes function tools with the registry schema', () => {
    const { registry } = travelRegistry();
    const tools = createAgentsTools(registry, { only: ['get_weather'] });
    expect(tools).toHaveLength(1);
    expect(tools[0]).toMatchObject({
      type: 'function',
      name: 'get_weather',
      description: 'The weather in a city.',
      strict: false,
    });
    expect(tools[0]?.parameters).toMatchObject({
      properties: { city: { type: 'string' } },
      required: ['city'],
    });
  });

  it('retries an idempotent tool inside execute, does not re-run a non-idempotent one, and reports both', async () => {
    const { registry, runs, seen } = travelRegistry();
    const model = new ScriptedModel([
      [
        functionCall('get_weather', { city: 'Oslo' }, { callId: 'call_w' }),
        functionCall('book_hotel', { hotel: 'Grand' }, { callId: 'call_b' }),
      ],
      [assistantMessage('Sunny; the booking is in doubt.')],
    ]);
    const agent = new Agent({
      name: 'travel',
      instructions: 'help',
      model,
      tools: createAgentsTools(registry),
    });

    const result = await runner.run(agent, 'Weather in Oslo, and book the Grand.');

    expect(result.finalOutput).toBe('Sunny; the booking is in doubt.');
    expect(runs.weather).toBe(2);
    expect(runs.booking).toBe(1);
    const weather = seen.filter((s) => s.tool === 'get_weather');
    expect(weather.map((s) => s.callId)).toEqual(['call_w', 'call_w']);
    expect(new Set(weather.map((s) => s.key))).toEqual(new Set([keyFromCallId('get_weather', 'call_w')]));

    const outputs = toolOutputs(model, 1);
    expect(JSON.parse(String(outputs.call_w))).toEqual({ city: 'Oslo', sky: 'clear' });
    expect(JSON.parse(String(outputs.call_b))).toMatchObject({
      error: {
        type: 'outcome_unknown',
        outcome: 'unknown',
        retryable: false,
        details: { tool: 'book_hotel' },
      },
    });
    model.assertComplete();
  });

  it("passes the run's abort signal to the running operation", async () => {
    const { registry, searchStarted, searchAborts, seen } = travelRegistry();
    const model = new ScriptedModel([[functionCall('slow_search', { q: 'hotels' }, { callId: 'call_s' })]]);
    const agent = new Agent({
      name: 'travel',
      instructions: 'help',
      model,
      tools: createAgentsTools(registry),
    });
    const controller = new AbortController();
    const run = runner.run(agent, 'search', { signal: controller.signal });
    await searchStarted;
    controller.abort(new Error('user left'));
    await expect(run).rejects.toThrow();
    expect(searchAborts).toHaveLength(1);
    expect(seen[0]?.callId).toBe('call_s');
    expect(seen[0]?.signal.aborted).toBe(true);
  });
});
