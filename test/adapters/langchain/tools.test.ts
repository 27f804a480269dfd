import { AIMessage, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { fakeModel } from '@langchain/core/testing';
import { createAgent } from 'langchain';
import { describe, expect, it } from 'vitest';
import { keyFromCallId } from '../../../src/idempotency/keys.js';
import { createLangchainTools } from '../../../src/langchain.js';
import { travelRegistry } from '../fixtures.js';

function toolMessages(messages: readonly unknown[]): Record<string, ToolMessage> {
  const out: Record<string, ToolMessage> = {};
  for (const m of messages) if (ToolMessage.isInstance(m)) out[m.tool_call_id] = m;
  return out;
}

describe('LangChain tools (@langchain/core@1, langchain@1)', () => {
  it('makes structured tools with the registry schema', () => {
    const { registry } = travelRegistry();
    const [weather] = createLangchainTools(registry, { only: ['get_weather'] });
    expect(weather?.name).toBe('get_weather');
    expect(weather?.description).toBe('The weather in a city.');
    expect(weather?.schema).toMatchObject({ properties: { city: { type: 'string' } } });
  });

  it('runs in a createAgent loop: retries the idempotent tool, does not re-run the other, reports both', async () => {
    const { registry, runs, seen } = travelRegistry();
    const model = fakeModel()
      .respondWithTools([
        { name: 'get_weather', args: { city: 'Oslo' }, id: 'call_w' },
        { name: 'book_hotel', args: { hotel: 'Grand' }, id: 'call_b' },
      ])
      .respond(new AIMessage('Sunny; the booking is in doubt.'));
    const agent = createAgent({ model, tools: createLangchainTools(registry) });

    const result = await agent.invoke({
      messages: [new HumanMessage('Weather in Oslo, and book the Grand.')],
    });

    expect(result.messages.at(-1)?.content).toBe('Sunny; the booking is in doubt.');
    expect(runs.weather).toBe(2);
    expect(runs.booking).toBe(1);
    const weather = seen.filter((s) => s.tool === 'get_weather');
    expect(weather.map((s) => s.callId)).toEqual(['call_w', 'call_w']);
    expect(weather[0]?.key).toBe(keyFromCallId('get_weather', 'call_w'));

    const byId = toolMessages(result.messages);
    expect(JSON.parse(String(byId.call_w?.content))).toEqual({ city: 'Oslo', sky: 'clear' });
    expect(byId.call_w?.status).toBe('success');
    expect(byId.call_b?.status).toBe('error');
    expect(JSON.parse(String(byId.call_b?.content))).toMatchObject({
      error: { type: 'outcome_unknown', outcome: 'unknown', retryable: false },
    });
    // The model's second turn saw both answers.
    expect(model.calls[1]?.messages.filter((m) => ToolMessage.isInstance(m))).toHaveLength(2);
  });

  it('returns the error payload when invoked with plain arguments', async () => {
    const { registry } = travelRegistry();
    const [booking] = createLangchainTools(registry, { only: ['book_hotel'] });
    await expect(booking?.invoke({ hotel: 'Grand' })).resolves.toMatchObject({
      error: { outcome: 'unknown' },
    });
  });

  it("passes the run's abort signal to the running operation", async () => {
    const { registry, searchStarted, searchAborts, seen } = travelRegistry();
    const model = fakeModel().respondWithTools([
      { name: 'slow_search', args: { q: 'hotels' }, id: 'call_s' },
    ]);
    const agent = createAgent({ model, tools: createLangchainTools(registry) });
    const controller = new AbortController();
    const run = agent.invoke({ messages: [new HumanMessage('search')] }, { signal: controller.signal });
    await searchStarted;
    controller.abort(new Error('user left'));
    await expect(run).rejects.toThrow();
    expect(searchAborts).toHaveLength(1);
    expect(seen[0]?.callId).toBe('call_s');
    expect(seen[0]?.signal.aborted).toBe(true);
  });
});
