/**
 * A small booking agent for the done-when test, written only against the
 * package's public entries (`breakwater`, `breakwater/testing`) and the real
 * SDKs, as a user's own test would be: the model asks to charge the order, the
 * tool charges it, the model answers. Its tool is either breakwater's
 * registry (keyed by content, ledgered) or a naive retry wrapper that retries
 * the payment POST with no idempotency key.
 */
import Anthropic from '@anthropic-ai/sdk';
import {
  type ChatMessage,
  createAnthropicProvider,
  createOpenAIProvider,
  createRegistry,
  createRouter,
  type ProfileInput,
  type ToolCall,
  type ToolDefinition,
  type ToolResultMessage,
} from 'breakwater';
import {
  type ChaosFaults,
  createFakeAnthropic,
  createFakeOpenAI,
  createFakePaymentApi,
  type Fault,
} from 'breakwater/testing';
import OpenAI from 'openai';
import { z } from 'zod';

export const ORDER = { order: 'A-17', amount: 4_200, currency: 'eur' } as const;
const chargeCall = { name: 'charge_card', arguments: ORDER };

const chargeTool: ToolDefinition = {
  name: 'charge_card',
  description: 'Charges the card on file for an order.',
  parameters: {
    type: 'object',
    properties: { order: { type: 'string' }, amount: { type: 'integer' }, currency: { type: 'string' } },
    required: ['order', 'amount', 'currency'],
  },
};

/** Waits that cost nothing, so a run takes milliseconds. */
const quick = {
  backoff: { kind: 'constant', initialMs: 1, maxMs: 1, jitter: 'none' },
  budget: false,
} as const;
const modelProfile: ProfileInput = { extends: 'llm', retry: { maxAttempts: 2, ...quick } };
const paymentProfile: ProfileInput = { extends: 'payment', name: 'quick-payment', retry: quick };

export interface BookingFaults {
  readonly openai?: readonly Fault[] | ((index: number) => Fault | undefined);
  readonly anthropic?: readonly Fault[];
  readonly payment?: readonly Fault[];
}

export interface Booking {
  readonly charges: number;
  readonly answer: string | undefined;
  /** Which provider answered each model turn. */
  readonly providers: readonly string[];
  readonly paymentRequests: number;
  readonly keys: readonly (string | undefined)[];
}

/** Runs the booking conversation once, against fresh fakes that meet `faults` (or a chaos run's). */
export async function book(
  tool: 'breakwater' | 'naive',
  faults: BookingFaults | ChaosFaults = {},
): Promise<Booking> {
  // Both models ask to charge the order once, then answer: the second one, reached by a failover
  // mid-conversation, asks again (as a model that cannot tell whether the charge went through does).
  const turns = [{ toolCalls: [chargeCall] }, { text: 'Paid: your trip is booked.' }];
  const openai = await createFakeOpenAI({ turns });
  const anthropic = await createFakeAnthropic({ turns });
  const payments = await createFakePaymentApi();
  if ('inject' in faults) {
    faults.inject('openai', openai);
    faults.inject('anthropic', anthropic);
    faults.inject('payment', payments);
  } else {
    const o = faults.openai;
    if (typeof o === 'function') openai.inject((r) => o(r.index));
    else if (o) openai.inject(o);
    if (faults.anthropic) anthropic.inject(faults.anthropic);
    if (faults.payment) payments.inject(faults.payment);
  }
  try {
    const router = createRouter({
      providers: [
        createOpenAIProvider(new OpenAI({ apiKey: 'sk-test', baseURL: openai.baseURL }), {
          model: 'gpt-test',
        }),
        createAnthropicProvider(new Anthropic({ apiKey: 'sk-ant-test', baseURL: anthropic.baseURL }), {
          model: 'claude-test',
        }),
      ],
      profile: modelProfile,
    });
    const runTool = tool === 'breakwater' ? registryTool(payments.url) : naiveTool(payments.url);
    const messages: ChatMessage[] = [{ role: 'user', content: 'Pay for order A-17.' }];
    const providers: string[] = [];
    let answer: string | undefined;
    for (let turn = 0; turn < 6 && answer === undefined; turn++) {
      let res: Awaited<ReturnType<typeof router.chat>>;
      try {
        res = await router.chat({ system: 'You book trips.', messages, tools: [chargeTool], maxTokens: 256 });
      } catch {
        break; // no provider could answer: the agent stops, which is not what this test is about
      }
      providers.push(res.provider);
      messages.push(res.message);
      if (res.toolCalls.length === 0) answer = res.message.content ?? '';
      for (const call of res.toolCalls) messages.push(await runTool(call));
    }
    return {
      charges: payments.charges.length,
      answer,
      providers,
      paymentRequests: payments.requests,
      keys: payments.keysSeen,
    };
  } finally {
    await Promise.all([openai.close(), anthropic.close(), payments.close()]);
  }
}

type RunTool = (call: ToolCall) => Promise<ToolResultMessage>;

function result(call: ToolCall, content: string, isError = false): ToolResultMessage {
  return { role: 'tool', toolCallId: call.id, toolName: call.name, content, isError };
}

/** breakwater: the payment profile, the API's idempotency key, and a content key so a re-issued charge replays. */
function registryTool(url: string): RunTool {
  const registry = createRegistry({ profiles: { 'quick-payment': paymentProfile } });
  registry.register({
    name: 'charge_card',
    input: z.object({ order: z.string(), amount: z.number().int(), currency: z.string() }),
    idempotency: { honored: true, key: 'content' },
    profile: 'quick-payment',
    execute: async (input, ctx) => {
      const res = await ctx.fetch(`${url}/v1/charges`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(input),
      });
      return res.json();
    },
  });
  return async (call) => {
    try {
      const out = await registry.call(call.name, call.arguments, {
        callId: call.id,
        scope: 'conversation-1',
      });
      return result(call, JSON.stringify(out));
    } catch (error) {
      return result(call, error instanceof Error ? error.message : 'failed', true);
    }
  };
}

/** The naive wrapper: retries the POST up to three times on any failure, with no idempotency key. */
function naiveTool(url: string): RunTool {
  return async (call) => {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await fetch(`${url}/v1/charges`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(call.arguments),
        });
        if (res.ok) return result(call, await res.text());
        if (attempt >= 3) return result(call, `HTTP ${res.status}`, true);
      } catch (error) {
        if (attempt >= 3) return result(call, error instanceof Error ? error.message : 'failed', true);
      }
    }
  };
}
