import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';

/** A client connected in-process to `server`, over the SDK's own linked in-memory transports. */
export async function connect(server: Pick<Server, 'connect'>): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'test-client', version: '1.0.0' });
  await client.connect(clientSide);
  return client;
}

/**
 * A remote MCP server, written the way third-party servers are (the SDK's
 * `McpServer`), with faults on its side:
 * - `forecast` (read-only) hangs on its first call, until cancelled;
 * - `create_order` (destructive) hangs on every call, until cancelled;
 * - `inventory` (read-only) answers `isError` "temporarily unavailable" once;
 * - `pay` answers `isError` "card declined".
 */
export function remoteServer() {
  const server = new McpServer({ name: 'remote', version: '1.0.0' });
  const calls = { forecast: 0, create_order: 0, inventory: 0, pay: 0 };
  const cancelled: string[] = [];
  const metas: unknown[] = [];
  const hang = (signal: AbortSignal, tool: string) =>
    new Promise<never>((_resolve, reject) => {
      signal.addEventListener('abort', () => {
        cancelled.push(tool);
        reject(new Error('cancelled'));
      });
    });

  server.registerTool(
    'forecast',
    {
      description: 'The forecast for a city.',
      inputSchema: { city: z.string() },
      annotations: { readOnlyHint: true },
    },
    async ({ city }, extra) => {
      calls.forecast++;
      if (calls.forecast === 1) return hang(extra.signal, 'forecast');
      return { content: [{ type: 'text', text: `clear in ${city}` }] };
    },
  );
  server.registerTool(
    'create_order',
    {
      description: 'Orders an item.',
      inputSchema: { item: z.string() },
      annotations: { destructiveHint: true },
    },
    async (_args, extra) => {
      calls.create_order++;
      metas.push(extra._meta);
      return hang(extra.signal, 'create_order');
    },
  );
  server.registerTool(
    'inventory',
    {
      description: 'Stock of an item.',
      inputSchema: { item: z.string() },
      annotations: { readOnlyHint: true },
    },
    async () => {
      calls.inventory++;
      if (calls.inventory === 1)
        return { isError: true, content: [{ type: 'text', text: 'temporarily unavailable' }] };
      return { content: [{ type: 'text', text: '{"stock":3}' }], structuredContent: { stock: 3 } };
    },
  );
  server.registerTool('pay', { description: 'Pays.', inputSchema: { amount: z.number() } }, async () => {
    calls.pay++;
    return { isError: true, content: [{ type: 'text', text: 'card declined' }] };
  });
  return { server, calls, cancelled, metas };
}
