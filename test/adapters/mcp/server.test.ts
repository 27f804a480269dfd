import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it, vi } from 'vitest';
import { keyFromCallId } from '../../../src/idempotency/keys.js';
import { createMcpServer, importMcpTools } from '../../../src/mcp.js';
import { createRegistry } from '../../../src/tools/registry.js';
import { travelRegistry } from '../fixtures.js';
import { connect } from './remote.js';

const textOf = (r: CallToolResult) => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('');

describe('serving the registry as an MCP server', () => {
  it('lists the tools with their schemas, descriptions and idempotency hints', async () => {
    const { registry } = travelRegistry();
    const client = await connect(createMcpServer(registry, { exclude: ['slow_search'] }));
    const { tools } = await client.listTools();
    expect(tools.map((t) => [t.name, t.annotations?.idempotentHint])).toEqual([
      ['get_weather', true],
      ['book_hotel', false],
    ]);
    expect(tools[0]).toMatchObject({
      description: 'The weather in a city.',
      inputSchema: { type: 'object', properties: { city: { type: 'string' } } },
    });
  });

  it('runs every call through its policy: retried when safe, never repeated when not', async () => {
    const { registry, runs } = travelRegistry();
    const client = await connect(createMcpServer(registry));

    const weather = (await client.callTool({
      name: 'get_weather',
      arguments: { city: 'Oslo' },
    })) as CallToolResult;
    expect(weather.isError).toBeFalsy();
    expect(JSON.parse(textOf(weather))).toEqual({ city: 'Oslo', sky: 'clear' });
    expect(weather.structuredContent).toEqual({ city: 'Oslo', sky: 'clear' });
    expect(runs.weather).toBe(2);

    const booking = (await client.callTool({
      name: 'book_hotel',
      arguments: { hotel: 'Grand' },
    })) as CallToolResult;
    expect(booking.isError).toBe(true);
    expect(JSON.parse(textOf(booking))).toMatchObject({
      error: { type: 'outcome_unknown', outcome: 'unknown' },
    });
    expect(runs.booking).toBe(1);

    const unknown = (await client.callTool({ name: 'slow_searc', arguments: {} })) as CallToolResult;
    expect(unknown.isError).toBe(true);
    expect(JSON.parse(textOf(unknown))).toMatchObject({ error: { type: 'invalid_input' } });

    const bad = (await client.callTool({
      name: 'get_weather',
      arguments: { town: 'Oslo' },
    })) as CallToolResult;
    expect(JSON.parse(textOf(bad))).toMatchObject({ error: { type: 'invalid_input', outcome: 'failed' } });
  });

  it('aborts the operation when the client cancels', async () => {
    const { registry, searchStarted, searchAborts } = travelRegistry();
    const client = await connect(createMcpServer(registry));
    const controller = new AbortController();
    const call = client.callTool({ name: 'slow_search', arguments: { q: 'x' } }, undefined, {
      signal: controller.signal,
    });
    await searchStarted;
    controller.abort(new Error('user left'));
    await expect(call).rejects.toThrow();
    await vi.waitFor(() => expect(searchAborts).toHaveLength(1));
  });

  it("carries a breakwater client's idempotency key to a server that accepts it", async () => {
    const remote = travelRegistry();
    const client = await connect(createMcpServer(remote.registry, { acceptIdempotencyKeys: true }));
    const local = createRegistry({ random: () => 0 });
    await importMcpTools(client, local, { filter: (t) => t.name === 'book_hotel' });
    await local.call('book_hotel', { hotel: 'Grand' }, { callId: 'call_b' }).catch(() => undefined);
    // The server's operation ran under the client's key: a retry from the client would replay, not book again.
    expect(remote.seen.map((s) => s.key)).toEqual([keyFromCallId('book_hotel', 'call_b')]);

    // Without acceptIdempotencyKeys the server makes its own.
    const other = travelRegistry();
    const plain = await connect(createMcpServer(other.registry));
    const local2 = createRegistry({ random: () => 0 });
    await importMcpTools(plain, local2, { filter: (t) => t.name === 'book_hotel' });
    await local2.call('book_hotel', { hotel: 'Grand' }, { callId: 'call_b' }).catch(() => undefined);
    expect(other.seen[0]?.key).not.toBe(keyFromCallId('book_hotel', 'call_b'));
  });
});
