import { AIMessage, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { fakeModel } from '@langchain/core/testing';
import { createAgent, tool } from 'langchain';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createBreakwaterMiddleware } from '../../../src/langchain.js';
import { createTelemetry } from '../../../src/telemetry/telemetry.js';
import { installOtel } from '../../fakes/otel.js';

describe('the LangChain middleware and the model’s words', () => {
  let otel: ReturnType<typeof installOtel>;
  beforeEach(() => {
    otel = installOtel();
  });
  afterEach(async () => {
    await otel.uninstall();
  });

  // First: LangGraph's own listeners (41 parallel tasks below) warn too, and a warning is reported late.
  it('runs more than 10 tool calls in parallel on one run signal without a MaxListenersExceededWarning', async () => {
    // LangGraph adds a listener of its own per parallel task (its `raceWithSignal`); this checks ours, through
    // `wrapToolCall` called as the tool node calls it, all calls sharing the run's signal.
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const slow = tool(async ({ n }) => `ok ${n}`, {
        name: 'slow',
        description: 'Slow.',
        schema: z.object({ n: z.number() }),
      });
      const mw = createBreakwaterMiddleware({ tools: { slow: { effect: 'idempotent' } }, model: false });
      const wrap = mw.wrapToolCall!;
      type Request = Parameters<typeof wrap>[0];
      type Handler = Parameters<typeof wrap>[1];
      const run = new AbortController();
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const handler: Handler = async (request) => {
        await gate;
        return new ToolMessage({ content: 'ok', tool_call_id: request.toolCall.id ?? '' });
      };
      const calls = Array.from({ length: 25 }, (_, n) =>
        wrap(
          {
            toolCall: { name: 'slow', args: { n }, id: `call_${n}` },
            tool: slow,
            state: { messages: [] },
            runtime: { signal: run.signal },
          } as unknown as Request,
          handler,
        ),
      );
      await new Promise((r) => setImmediate(r));
      release();
      const answers = await Promise.all(calls);
      expect(answers).toHaveLength(25);
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('registers no tool, policy or series for tool names the model made up', async () => {
    const lookup = tool(async ({ city }) => `clear in ${city}`, {
      name: 'lookup',
      description: 'Weather.',
      schema: z.object({ city: z.string() }),
    });
    const invented = Array.from({ length: 40 }, (_, i) => ({
      name: `made_up_${i}`,
      args: {},
      id: `call_${i}`,
    }));
    const model = fakeModel()
      .respondWithTools([...invented, { name: 'lookup', args: { city: 'Oslo' }, id: 'call_real' }])
      .respond(new AIMessage('done'));
    const agent = createAgent({
      model,
      tools: [lookup],
      middleware: [
        createBreakwaterMiddleware({ telemetry: createTelemetry(), model: false, random: () => 0 }),
      ],
    });
    const result = await agent.invoke({ messages: [new HumanMessage('go')] });
    const answers = result.messages.filter((m) => ToolMessage.isInstance(m));
    expect(answers).toHaveLength(41);
    const points = await otel.points();
    const tools = new Set(points.map((p) => p.attributes['gen_ai.tool.name']).filter((n) => n !== undefined));
    expect([...tools]).toEqual(['lookup']);
    const dependencies = new Set(points.map((p) => p.attributes['breakwater.dependency']).filter((d) => d));
    expect([...dependencies].every((d) => d === 'lookup')).toBe(true);
  });
});
