import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, Tool as McpTool } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createMcpServer,
  IDEMPOTENCY_KEY_META,
  importMcpTools,
  type McpClientLike,
  McpImportError,
} from '../../../src/mcp.js';
import { createTelemetry } from '../../../src/telemetry/telemetry.js';
import { createRegistry } from '../../../src/tools/registry.js';
import { caught } from '../../fakes/caught.js';
import { everyRecordedString, installOtel } from '../../fakes/otel.js';
import { connect } from './remote.js';

const CARD = '4111111111111111';
const EMAIL = 'jane.doe@example.com';

describe("an imported tool's error text is content", () => {
  let otel: ReturnType<typeof installOtel>;
  beforeEach(() => {
    otel = installOtel();
  });
  afterEach(async () => {
    await otel.uninstall();
  });

  async function importEcho(captureContent: boolean) {
    const remote = new McpServer({ name: 'echoing', version: '1.0.0' });
    remote.registerTool('pay', { inputSchema: { card: z.string(), email: z.string() } }, async (a) => ({
      isError: true,
      content: [{ type: 'text', text: `card ${a.card} for ${a.email} was declined` }],
    }));
    const client = await connect(remote.server);
    const registry = createRegistry({ telemetry: createTelemetry({ captureContent }) });
    await importMcpTools(client, registry);
    return registry;
  }

  it('reaches the model, but no span, with content capture off', async () => {
    const registry = await importEcho(false);
    const [answer] = await registry.handleToolCalls([
      {
        type: 'function_call',
        call_id: 'call_1',
        name: 'pay',
        arguments: JSON.stringify({ card: CARD, email: EMAIL }),
      },
    ]);
    expect(answer?.output).toContain(CARD);
    const recorded = everyRecordedString(otel.spans()).join('\n');
    expect(otel.spans().length).toBeGreaterThan(0);
    expect(recorded).not.toContain(CARD);
    expect(recorded).not.toContain(EMAIL);
    expect(recorded).toContain('pay reported an error');
  });

  it('is recorded when the application captures content', async () => {
    const registry = await importEcho(true);
    await registry.call('pay', { card: CARD, email: EMAIL }).catch(() => undefined);
    const statuses = otel.spans().map((s) => s.status.message ?? '');
    expect(statuses.some((m) => m.includes(CARD))).toBe(true);
  });
});

describe('importMcpTools against a server that lists badly', () => {
  const tool = (name: string): McpTool => ({ name, inputSchema: { type: 'object' } });

  function lister(
    page: (cursor: string | undefined, n: number) => { tools: McpTool[]; nextCursor?: string },
  ) {
    let n = 0;
    const client: McpClientLike = {
      listTools: async (params?: { cursor?: string }) => page(params?.cursor, n++),
      callTool: async () => ({ content: [] }),
    } as unknown as McpClientLike;
    return { client, pages: () => n };
  }

  it('stops at a repeated nextCursor, and registers nothing', async () => {
    const { client, pages } = lister((_c, n) => ({ tools: [tool(`t${n}`)], nextCursor: 'again' }));
    const registry = createRegistry();
    const err = await caught(importMcpTools(client, registry));
    expect(err).toBeInstanceOf(McpImportError);
    expect((err as McpImportError).problem).toBe('repeated_cursor');
    expect(pages()).toBe(2);
    expect(registry.definitions('openai')).toEqual([]);
  });

  it('stops after maxPages of ever-new cursors', async () => {
    const { client, pages } = lister((_c, n) => ({ tools: [], nextCursor: `c${n}` }));
    const err = await caught(importMcpTools(client, createRegistry(), { maxPages: 50 }));
    expect((err as McpImportError).problem).toBe('too_many_pages');
    expect(pages()).toBe(50);
  });

  it('maps a name with a dot, and calls the remote tool by its own name', async () => {
    const remote = new McpServer({ name: 'dots', version: '1.0.0' });
    const called: string[] = [];
    remote.registerTool('weather.get', { inputSchema: { city: z.string() } }, async ({ city }) => {
      called.push(city);
      return { content: [{ type: 'text', text: `sunny in ${city}` }] };
    });
    remote.registerTool('ok', { inputSchema: {} }, async () => ({ content: [{ type: 'text', text: 'ok' }] }));
    const registry = createRegistry();
    const tools = await importMcpTools(await connect(remote.server), registry);
    expect(tools.map((t) => t.name)).toEqual(['weather_get', 'ok']);
    expect(await registry.call('weather_get', { city: 'Oslo' })).toBe('sunny in Oslo');
    expect(called).toEqual(['Oslo']);
  });

  it('a remote name that carries content or runs long stays out of the spans: they use the registry name', async () => {
    const otel = installOtel();
    try {
      const remoteName = `notify.${EMAIL}.${'x'.repeat(100_000)}`;
      const client = {
        listTools: async () => ({ tools: [tool(remoteName)] }),
        callTool: async () => ({ isError: true, content: [{ type: 'text', text: 'no' }] }),
      } as unknown as McpClientLike;
      const registry = createRegistry({ telemetry: createTelemetry() });
      const [imported] = await importMcpTools(client, registry);
      expect(imported?.name.length).toBeLessThanOrEqual(64);
      await caught(registry.call(imported!.name, {}));
      const recorded = everyRecordedString(otel.spans());
      expect(recorded.join('\n')).toContain(`${imported!.name} reported an error`);
      expect(recorded.join('\n')).not.toContain(EMAIL);
      expect(Math.max(...recorded.map((r) => r.length))).toBeLessThan(1_000);
    } finally {
      await otel.uninstall();
    }
  });

  it('refuses two remote names that map to one, before registering any', async () => {
    const { client } = lister(() => ({ tools: [tool('first'), tool('a.b'), tool('a_b')] }));
    const registry = createRegistry();
    const err = await caught(importMcpTools(client, registry));
    expect((err as McpImportError).problem).toBe('name_taken');
    expect(registry.get('first')).toBeUndefined();
  });
});

describe('served MCP calls', () => {
  function counting() {
    const registry = createRegistry({ random: () => 0 });
    const runs = { n: 0 };
    registry.register({
      name: 'book',
      effect: 'non-idempotent',
      input: z.object({ hotel: z.string() }),
      execute: async ({ hotel }) => {
        runs.n++;
        return { booked: hotel, n: runs.n };
      },
    });
    return { registry, runs };
  }

  const call = (key: string) => ({
    name: 'book',
    arguments: { hotel: 'Grand' },
    _meta: { [IDEMPOTENCY_KEY_META]: key },
  });

  it("a client's retry under the same key replays within its session", async () => {
    const { registry, runs } = counting();
    const client = await connect(createMcpServer(registry));
    const first = (await client.callTool(call('op-1'))) as CallToolResult;
    const retry = (await client.callTool(call('op-1'))) as CallToolResult;
    expect(runs.n).toBe(1);
    expect(retry.structuredContent).toEqual(first.structuredContent);
  });

  it('another client with the same key does not get the first one’s result', async () => {
    const { registry, runs } = counting();
    const one = await connect(createMcpServer(registry));
    const two = await connect(createMcpServer(registry));
    await one.callTool(call('op-1'));
    await two.callTool(call('op-1'));
    expect(runs.n).toBe(2);
  });
});
