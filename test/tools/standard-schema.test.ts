import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { RunContext } from '@openai/agents';
import { generateText, stepCountIs } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { type } from 'arktype';
import fc from 'fast-check';
import * as v from 'valibot';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { createAiSdkTools } from '../../src/ai-sdk.js';
import { InvalidInputError } from '../../src/failure/errors.js';
import { createLangchainTools } from '../../src/langchain.js';
import { createMcpServer } from '../../src/mcp.js';
import { createAgentsTools } from '../../src/openai-agents.js';
import { ToolDefinitionError } from '../../src/tools/errors.js';
import { createRegistry } from '../../src/tools/registry.js';
import { connect } from '../adapters/mcp/remote.js';

/** What valibot's schema below is, as JSON Schema: valibot has no converter of its own without a plugin. */
const bookJsonSchema = {
  type: 'object',
  properties: {
    hotel: { type: 'string', minLength: 1 },
    nights: { type: 'integer', minimum: 1 },
  },
  required: ['hotel', 'nights'],
} as const;

function registryWithBoth() {
  const registry = createRegistry();
  const received: unknown[] = [];
  const book = registry.register({
    name: 'book_hotel',
    description: 'Book a hotel.',
    input: v.object({
      hotel: v.pipe(v.string(), v.minLength(1)),
      // A transformation: the handler receives the output, not what the model sent.
      nights: v.pipe(
        v.number(),
        v.integer(),
        v.minValue(1),
        v.transform((n) => ({ count: n })),
      ),
    }),
    jsonSchema: bookJsonSchema,
    effect: 'idempotent',
    execute: (input) => {
      received.push(input);
      return { booked: input.hotel, nights: input.nights.count };
    },
  });
  const pay = registry.register({
    name: 'pay',
    description: 'Pay an amount.',
    input: type({ amount: 'string.numeric.parse', currency: "'EUR' | 'USD'" }),
    effect: 'idempotent',
    execute: (input) => {
      received.push(input);
      return { paid: input.amount * 100, currency: input.currency };
    },
  });
  return { registry, received, book, pay };
}

async function invalid(p: Promise<unknown>): Promise<InvalidInputError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidInputError);
  return err as InvalidInputError;
}

describe('Standard Schema tool inputs (valibot, arktype)', () => {
  it('shows the models each schema as JSON Schema, in every format, refusing unknown fields', () => {
    const { registry } = registryWithBoth();
    const [book, pay] = registry.definitions('openai');
    expect(book?.function.parameters).toEqual({ ...bookJsonSchema, additionalProperties: false });
    expect(pay?.function.parameters).toMatchObject({
      type: 'object',
      properties: { amount: { type: 'string' }, currency: { enum: expect.arrayContaining(['EUR', 'USD']) } },
      required: ['amount', 'currency'],
      additionalProperties: false,
    });
    expect(pay?.function.parameters).not.toHaveProperty('$schema');
    const responses = registry.definitions('openai-responses');
    const anthropic = registry.definitions('anthropic');
    for (const i of [0, 1]) {
      expect(responses[i]?.parameters).toEqual([book, pay][i]?.function.parameters);
      expect(anthropic[i]?.input_schema).toEqual([book, pay][i]?.function.parameters);
    }
    expect(registry.get('pay')?.inputSchema).toEqual(pay?.function.parameters);
  });

  it('hands the handler the parsed output, typed from the schema', async () => {
    const { received, book, pay } = registryWithBoth();
    expect(await book.call('{"hotel":"Grand","nights":3}')).toEqual({ booked: 'Grand', nights: 3 });
    expect(await pay.call({ amount: '12.5', currency: 'EUR' })).toEqual({ paid: 1250, currency: 'EUR' });
    expect(received).toEqual([
      { hotel: 'Grand', nights: { count: 3 } },
      { amount: 12.5, currency: 'EUR' },
    ]);
    // Callers pass the schema's input; the handler is typed by its output.
    expectTypeOf(pay.call).parameter(0).toEqualTypeOf<{ amount: string; currency: 'EUR' | 'USD' } | string>();
    expectTypeOf(book.call).parameter(0).toEqualTypeOf<{ hotel: string; nights: number } | string>();
    createRegistry().register({
      name: 't',
      input: type({ n: 'string.numeric.parse' }),
      execute: (input) => {
        expectTypeOf(input).toEqualTypeOf<{ n: number }>();
      },
    });
  });

  it('tells the model which field was wrong, without echoing the value', async () => {
    const { registry, received } = registryWithBoth();
    const card = '4111111111111111';
    const badPay = await invalid(registry.call('pay', { amount: card, currency: card }));
    expect(badPay.issues.map((i) => i.path)).toEqual(['currency']);
    expect(badPay.issues[0]?.message).toMatch(/"EUR" or "USD" \(was …\)/);
    expect(badPay.message).not.toContain(card);
    const badName = await invalid(registry.call('book_hotel', { hotel: 42_424_242, nights: 'Ada Lovelace' }));
    expect(badName.issues.map((i) => i.path)).toEqual(['hotel', 'nights']);
    expect(badName.message).not.toMatch(/42424242|Ada Lovelace/);
    expect(badName.issues[0]?.message).toMatch(/Expected string/);

    const badBook = await invalid(registry.call('book_hotel', '{"hotel":"Grand","nights":0}'));
    expect(badBook.issues).toEqual([{ path: 'nights', message: expect.stringMatching(/1/) }]);

    const missing = await invalid(registry.call('pay', { currency: 'EUR' }));
    expect(missing.issues).toEqual([
      { path: 'amount', message: expect.stringMatching(/^required field missing/) },
    ]);
    const missingBook = await invalid(registry.call('book_hotel', { nights: 2 }));
    expect(missingBook.issues).toEqual([
      { path: 'hotel', message: expect.stringMatching(/^required field missing/) },
    ]);

    const extra = await invalid(registry.call('book_hotel', { hotel: 'Grand', nights: 1, vip: true }));
    expect(extra.issues).toEqual([{ path: 'vip', message: 'unknown field' }]);

    // The model reads the same, as a tool result.
    const [answer] = await registry.handleToolCalls([
      { type: 'tool_use', id: 'tu_1', name: 'pay', input: { amount: 'ten', currency: 'EUR' } },
    ]);
    const payload = JSON.parse(String(answer?.content));
    expect(payload.error).toMatchObject({ type: 'invalid_input', outcome: 'failed' });
    expect(payload.error.details.issues).toEqual([{ path: 'amount', message: expect.any(String) }]);
    expect(received).toEqual([]);
  });

  it('awaits a schema that validates asynchronously', async () => {
    const registry = createRegistry();
    const taken = new Set(['ada']);
    const ran: string[] = [];
    const signUp = registry.register({
      name: 'sign_up',
      input: v.objectAsync({
        username: v.pipeAsync(
          v.string(),
          v.checkAsync(async (name) => {
            await Promise.resolve();
            return !taken.has(name);
          }, 'that username is taken'),
          v.transform((name) => name.toUpperCase()),
        ),
      }),
      jsonSchema: { type: 'object', properties: { username: { type: 'string' } }, required: ['username'] },
      effect: 'idempotent',
      execute: (input) => {
        ran.push(input.username);
        return 'ok';
      },
    });
    const bad = await invalid(signUp.call({ username: 'ada' }));
    expect(bad.issues).toEqual([{ path: 'username', message: 'that username is taken' }]);
    expect(await signUp.call({ username: 'grace' })).toBe('ok');
    expect(ran).toEqual(['GRACE']);
  });

  it('refuses at registration a Standard Schema with no JSON Schema, naming the tool and the field', () => {
    const registry = createRegistry();
    let err: unknown;
    try {
      registry.register({ name: 'no_schema', input: v.object({ a: v.string() }), execute: () => 1 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ToolDefinitionError);
    const def = err as ToolDefinitionError;
    expect(def.tool).toBe('no_schema');
    expect(def.issues).toEqual([
      { path: 'jsonSchema', message: expect.stringMatching(/^required: the valibot/) },
    ]);
    expect(def.message).toMatch(/no_schema.*jsonSchema/);
    expect(registry.names).toEqual([]);

    // And one whose JSON Schema does not describe an object, or a `jsonSchema` that is not one.
    expect(() => registry.register({ name: 'scalar', input: type('string'), execute: () => 1 })).toThrow(
      /scalar.*input: must describe an object/,
    );
    expect(() =>
      registry.register({
        name: 'bad_json',
        input: v.object({ a: v.string() }),
        jsonSchema: { type: 'string' } as never,
        execute: () => 1,
      }),
    ).toThrow(/bad_json.*jsonSchema: must be a JSON Schema object/);
    expect(() =>
      registry.register({ name: 'nothing', input: { parse: () => 1 } as never, execute: () => 1 }),
    ).toThrow(/nothing.*input: must be a zod object schema or a Standard Schema/);
  });
});

describe('zod directly and zod through its Standard Schema face', () => {
  const schema = z.object({
    name: z.string().min(1),
    count: z.number().int().nonnegative(),
    tag: z.enum(['a', 'b']).optional(),
  });
  /** Only `~standard`: how the registry sees a zod it cannot recognize (another copy of zod, another library). */
  const face = { '~standard': schema['~standard'] };
  const registry = createRegistry();
  const direct = registry.register({
    name: 'direct',
    input: schema,
    effect: 'idempotent',
    execute: (i) => i,
  });
  const standard = registry.register({
    name: 'standard',
    input: face,
    effect: 'idempotent',
    execute: (i) => i,
  });

  it('show the same JSON Schema', () => {
    expect(standard.inputSchema).toEqual(direct.inputSchema);
  });

  it('accept and refuse the same arguments, with the same value or the same fields named', async () => {
    // Each field present or not, each value often right and often wrong, so that every mix is reached.
    const value = fc.oneof(
      fc.constantFrom('a', 'b', '', 'Ada'),
      fc.integer({ min: -1, max: 3 }),
      fc.constantFrom(0.5, true, null),
    );
    const args = fc.record({ name: value, count: value, tag: value, extra: value }, { requiredKeys: [] });
    await fc.assert(
      fc.asyncProperty(args, async (a) => {
        const outcome = (p: Promise<unknown>) =>
          p.then(
            (v) => ({ ok: true, v }),
            (e: unknown) => ({ ok: false, v: new Set((e as InvalidInputError).issues.map((i) => i.path)) }),
          );
        const [d, s] = await Promise.all([
          outcome(direct.call(a as never)),
          outcome(standard.call(a as never)),
        ]);
        expect(s.ok).toBe(d.ok);
        // Unknown fields are refused before the schema runs on the Standard path: then only those are named.
        if (d.ok || !('extra' in a)) expect(s.v).toEqual(d.v);
      }),
      { numRuns: 300 },
    );
  });
});

describe('Standard Schema tools through the adapters', () => {
  it('AI SDK: the model sees the JSON Schema, a good call runs, a bad one is told the field', async () => {
    const { registry, received } = registryWithBoth();
    const tools = createAiSdkTools(registry);
    const usage = {
      inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
      outputTokens: { total: 1, text: 1, reasoning: 0 },
    };
    const seenTools: unknown[] = [];
    let step = 0;
    const model = new MockLanguageModelV3({
      doGenerate: async (request) => {
        if (step++ === 0) {
          seenTools.push(...(request.tools ?? []));
          return {
            content: [
              {
                type: 'tool-call',
                toolCallId: 'c1',
                toolName: 'pay',
                input: '{"amount":"2","currency":"USD"}',
              },
              {
                type: 'tool-call',
                toolCallId: 'c2',
                toolName: 'pay',
                input: '{"amount":"2","currency":"GBP"}',
              },
            ],
            finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
            usage,
            warnings: [],
          };
        }
        return {
          content: [{ type: 'text', text: 'done' }],
          finishReason: { unified: 'stop', raw: 'stop' },
          usage,
          warnings: [],
        };
      },
    });
    const result = await generateText({ model, prompt: 'pay', tools, stopWhen: stepCountIs(3) });
    expect(seenTools).toContainEqual(
      expect.objectContaining({
        name: 'pay',
        inputSchema: expect.objectContaining({ required: ['amount', 'currency'] }),
      }),
    );
    const outputs = result.steps[0]?.toolResults.map((r) => r.output);
    expect(outputs?.[0]).toEqual({ paid: 200, currency: 'USD' });
    expect(outputs?.[1]).toMatchObject({
      error: { type: 'invalid_input', details: { issues: [{ path: 'currency' }] } },
    });
    expect(received).toEqual([{ amount: 2, currency: 'USD' }]);
  });

  it('MCP: listed with the JSON Schema; a bad call is an error naming the field', async () => {
    const { registry } = registryWithBoth();
    const client = await connect(createMcpServer(registry));
    const { tools } = await client.listTools();
    expect(tools.find((t) => t.name === 'book_hotel')?.inputSchema).toEqual({
      ...bookJsonSchema,
      additionalProperties: false,
    });
    const ok = (await client.callTool({
      name: 'book_hotel',
      arguments: { hotel: 'Grand', nights: 2 },
    })) as CallToolResult;
    expect(ok.structuredContent).toEqual({ booked: 'Grand', nights: 2 });
    const bad = (await client.callTool({
      name: 'book_hotel',
      arguments: { hotel: '', nights: 2 },
    })) as CallToolResult;
    expect(bad.isError).toBe(true);
    expect(bad.structuredContent).toMatchObject({
      error: { type: 'invalid_input', details: { issues: [{ path: 'hotel' }] } },
    });
  });

  it('OpenAI Agents SDK and LangChain: the JSON Schema is the tool parameters, and calls run through the registry', async () => {
    const { registry, received } = registryWithBoth();
    const [agentsPay] = createAgentsTools(registry, { only: ['pay'] });
    expect(agentsPay?.parameters).toMatchObject({
      required: ['amount', 'currency'],
      additionalProperties: false,
    });
    expect(await agentsPay?.invoke(new RunContext(), '{"amount":"3","currency":"EUR"}')).toBe(
      JSON.stringify({ paid: 300, currency: 'EUR' }),
    );
    const refused = JSON.parse(
      String(await agentsPay?.invoke(new RunContext(), '{"amount":"3","currency":"GBP"}')),
    );
    expect(refused).toMatchObject({
      error: { type: 'invalid_input', details: { issues: [{ path: 'currency' }] } },
    });

    const [langchainBook] = createLangchainTools(registry, { only: ['book_hotel'] });
    expect(langchainBook?.schema).toEqual({ ...bookJsonSchema, additionalProperties: false });
    expect(await langchainBook?.invoke({ hotel: 'Grand', nights: 4 })).toEqual({
      booked: 'Grand',
      nights: 4,
    });
    expect(received).toEqual([
      { amount: 3, currency: 'EUR' },
      { hotel: 'Grand', nights: { count: 4 } },
    ]);
  });
});
