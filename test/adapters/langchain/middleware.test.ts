import { AIMessage, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { fakeModel } from '@langchain/core/testing';
import { createAgent, tool } from 'langchain';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isBreakwaterError } from '../../../src/failure/errors.js';
import { createBreakwaterMiddleware, createLangchainTools } from '../../../src/langchain.js';
import { badGateway, resetError, travelRegistry } from '../fixtures.js';

type WrapToolCall = NonNullable<ReturnType<typeof createBreakwaterMiddleware>['wrapToolCall']>;
type ToolRequest = Parameters<WrapToolCall>[0];
type ToolHandler = Parameters<WrapToolCall>[1];

/** The agent's own tools, written the LangChain way, with faults built in. */
function ownTools() {
  const lookups: Array<{ id: string | undefined; signal: AbortSignal | undefined }> = [];
  const counts = { charges: 0, payouts: 0 };
  const aborts: unknown[] = [];
  const lookup = tool(
    async ({ city }, config) => {
      lookups.push({ id: config.toolCall?.id, signal: config.signal });
      if (lookups.length === 1) throw resetError();
      return `clear in ${city}`;
    },
    { name: 'lookup', description: 'Looks the weather up.', schema: z.object({ city: z.string() }) },
  );
  const charge = tool(
    async () => {
      counts.charges++;
      throw badGateway();
    },
    { name: 'charge', description: 'Charges a card.', schema: z.object({ amount: z.number() }) },
  );
  const payout = tool(
    async ({ amount }) => {
      counts.payouts++;
      return `paid ${amount}`;
    },
    { name: 'payout', description: 'Pays out.', schema: z.object({ amount: z.number() }) },
  );
  const stuck = tool(
    (_input, config) =>
      new Promise<string>((_resolve, reject) => {
        config.signal?.addEventListener('abort', () => {
          aborts.push(config.signal?.reason);
          reject(config.signal?.reason);
        });
      }),
    { name: 'stuck', description: 'Never answers.', schema: z.object({}) },
  );
  return { lookup, charge, payout, stuck, lookups, counts, aborts };
}

function toolMessages(messages: readonly unknown[]): Record<string, ToolMessage> {
  const out: Record<string, ToolMessage> = {};
  for (const m of messages) if (ToolMessage.isInstance(m)) out[m.tool_call_id] = m;
  return out;
}

/** Runs a middleware's `wrapToolCall` the way LangChain's tool node does. */
function callThrough(
  mw: ReturnType<typeof createBreakwaterMiddleware>,
  request: ToolRequest,
  handler: ToolHandler,
) {
  const wrap = mw.wrapToolCall;
  if (!wrap) throw new Error('no wrapToolCall');
  return wrap(request, handler);
}

const invokeTool: ToolHandler = async (request) => {
  const t = request.tool as { invoke(input: unknown): Promise<unknown> } | undefined;
  const out = await t?.invoke({ ...request.toolCall, type: 'tool_call' });
  return out as ToolMessage;
};

describe('breakwater as langchain agent middleware', () => {
  it("puts the agent's own tools under policy: an idempotent one retried, the default one not re-run", async () => {
    const t = ownTools();
    const model = fakeModel()
      .respondWithTools([
        { name: 'lookup', args: { city: 'Oslo' }, id: 'call_l' },
        { name: 'charge', args: { amount: 5 }, id: 'call_c' },
      ])
      .respond(new AIMessage('done'));
    const agent = createAgent({
      model,
      tools: [t.lookup, t.charge],
      middleware: [
        createBreakwaterMiddleware({ tools: { lookup: { effect: 'idempotent' } }, random: () => 0 }),
      ],
    });

    const result = await agent.invoke({ messages: [new HumanMessage('go')] });

    expect(t.lookups.map((l) => l.id)).toEqual(['call_l', 'call_l']);
    expect(t.counts.charges).toBe(1);
    const byId = toolMessages(result.messages);
    expect(byId.call_l?.content).toBe('clear in Oslo');
    expect(byId.call_c?.status).toBe('error');
    expect(JSON.parse(String(byId.call_c?.content))).toMatchObject({
      error: { type: 'outcome_unknown', outcome: 'unknown', details: { tool: 'charge' } },
    });
  });

  it("reaches the tool with each attempt's signal: a timed-out attempt stops its tool", async () => {
    const t = ownTools();
    const model = fakeModel()
      .respondWithTools([{ name: 'stuck', args: {}, id: 'call_s' }])
      .respond(new AIMessage('gave up'));
    const mw = createBreakwaterMiddleware({
      tools: {
        stuck: { effect: 'idempotent', profile: { timeout: { attemptMs: 20 }, retry: { maxAttempts: 2 } } },
      },
      random: () => 0,
    });
    const agent = createAgent({ model, tools: [t.stuck], middleware: [mw] });

    const result = await agent.invoke({ messages: [new HumanMessage('go')] });

    expect(t.aborts).toHaveLength(2);
    const message = toolMessages(result.messages).call_s;
    expect(message?.status).toBe('error');
    expect(JSON.parse(String(message?.content))).toMatchObject({
      error: { type: 'timeout', outcome: 'failed', details: { attempts: 2 } },
    });
  });

  it('answers arguments the tool rejects with invalid_input, without retrying', async () => {
    const t = ownTools();
    const model = fakeModel()
      .respondWithTools([{ name: 'lookup', args: { town: 'Oslo' }, id: 'call_x' }])
      .respond(new AIMessage('sorry'));
    const agent = createAgent({
      model,
      tools: [t.lookup],
      middleware: [
        createBreakwaterMiddleware({ tools: { lookup: { effect: 'idempotent' } }, random: () => 0 }),
      ],
    });
    const result = await agent.invoke({ messages: [new HumanMessage('go')] });
    expect(t.lookups).toHaveLength(0);
    expect(JSON.parse(String(toolMessages(result.messages).call_x?.content))).toMatchObject({
      error: { outcome: 'failed', retryable: false, details: { tool: 'lookup', kind: 'invalid_input' } },
    });
  });

  it('replays a tool call delivered twice (a resumed graph re-running its tools) instead of repeating it', async () => {
    const t = ownTools();
    const mw = createBreakwaterMiddleware();
    const request: ToolRequest = {
      toolCall: { id: 'call_p', name: 'payout', args: { amount: 7 } },
      tool: t.payout,
      state: { messages: [] },
      runtime: {},
    };
    const first = await callThrough(mw, request, invokeTool);
    const second = await callThrough(mw, request, invokeTool);
    expect(t.counts.payouts).toBe(1);
    expect(ToolMessage.isInstance(first) && first.content).toBe('paid 7');
    expect(ToolMessage.isInstance(second) && second.content).toBe('paid 7');
  });

  it("lets LangGraph's interrupts through untouched", async () => {
    const t = ownTools();
    const interrupt = Object.assign(new Error('interrupt'), { is_bubble_up: true });
    const request: ToolRequest = {
      toolCall: { id: 'call_i', name: 'payout', args: { amount: 1 } },
      tool: t.payout,
      state: { messages: [] },
      runtime: {},
    };
    await expect(
      callThrough(createBreakwaterMiddleware(), request, async () => {
        throw interrupt;
      }),
    ).rejects.toBe(interrupt);
  });

  it('leaves tools made by createLangchainTools to their own policy', async () => {
    const { registry, runs } = travelRegistry();
    const model = fakeModel()
      .respondWithTools([{ name: 'get_weather', args: { city: 'Oslo' }, id: 'call_w' }])
      .respond(new AIMessage('sunny'));
    const agent = createAgent({
      model,
      tools: createLangchainTools(registry),
      // Were the middleware to wrap it too, a failed first attempt would run a second retry loop around the first.
      middleware: [createBreakwaterMiddleware({ defaultTool: { effect: 'idempotent' }, random: () => 0 })],
    });
    await agent.invoke({ messages: [new HumanMessage('go')] });
    expect(runs.weather).toBe(2);
  });

  it('retries a failed model call under the llm profile', async () => {
    const t = ownTools();
    const model = fakeModel()
      .respond(badGateway())
      .respondWithTools([{ name: 'payout', args: { amount: 3 }, id: 'call_p' }])
      .respond(new AIMessage('paid'));
    const agent = createAgent({
      model,
      tools: [t.payout],
      middleware: [createBreakwaterMiddleware({ random: () => 0 })],
    });
    const result = await agent.invoke({ messages: [new HumanMessage('go')] });
    expect(result.messages.at(-1)?.content).toBe('paid');
    expect(model.callCount).toBe(3);
  });

  it('ends the run with a typed error when the model refuses', async () => {
    const refused = Object.assign(new Error('HTTP 400'), { status: 400, headers: {} });
    const model = fakeModel().respond(refused).respond(new AIMessage('never'));
    const agent = createAgent({
      model,
      tools: [],
      middleware: [createBreakwaterMiddleware({ random: () => 0 })],
    });
    const err: unknown = await agent.invoke({ messages: [new HumanMessage('go')] }).catch((e: unknown) => e);
    expect(model.callCount).toBe(1);
    // LangChain wraps whatever a middleware throws in its MiddlewareError; ours is the cause.
    const cause = (err as { cause?: unknown }).cause;
    expect(isBreakwaterError(cause) && cause.failure.kind).toBe('client_error');
  });
});

describe('breakwater middleware settings', () => {
  it('refuses a bad profile when the agent is built, not on its first call', () => {
    expect(() => createBreakwaterMiddleware({ tools: { lookup: { profile: 'no-such-profile' } } })).toThrow(
      /profile/,
    );
    expect(() =>
      createBreakwaterMiddleware({ defaultTool: { profile: { retry: { maxAttempts: 0 } } } }),
    ).toThrow(/maxAttempts/);
    expect(() => createBreakwaterMiddleware({ model: { profile: 'no-such-profile' } })).toThrow(/profile/);
  });
});
