import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it, vi } from 'vitest';
import { mcpFailure } from '../../../src/adapters/mcp/failures.js';
import { isBreakwaterError } from '../../../src/failure/errors.js';
import { keyFromCallId } from '../../../src/idempotency/keys.js';
import { effectFor, IDEMPOTENCY_KEY_META, importMcpTools, type McpClientLike } from '../../../src/mcp.js';
import { createRegistry } from '../../../src/tools/registry.js';
import { connect, remoteServer } from './remote.js';

/**
 * A short attempt timeout: the hanging tools answer only when cancelled, so no
 * assertion depends on its length; it is long enough that a prompt in-memory
 * answer never loses to it, even on a loaded machine.
 */
const quick = { timeout: { attemptMs: 250 } };

async function setup(options: Parameters<typeof importMcpTools>[2] = {}) {
  const remote = remoteServer();
  const client = await connect(remote.server);
  const callOptions: unknown[] = [];
  // The same client, noting what each callTool was given as options (its third argument).
  const observed: McpClientLike = {
    listTools: (...args: Parameters<Client['listTools']>) => client.listTools(...args),
    callTool: (...args: Parameters<Client['callTool']>) => {
      callOptions.push(args[2]);
      return client.callTool(...args);
    },
  };
  const registry = createRegistry({ random: () => 0 });
  const tools = await importMcpTools(observed, registry, { profile: quick, ...options });
  return { remote, client, registry, tools, callOptions };
}

describe('importing a remote MCP server into the registry', () => {
  it('registers every remote tool with its schema and description', async () => {
    const { registry, tools } = await setup({ prefix: 'shop_' });
    expect(tools.map((t) => t.name)).toEqual([
      'shop_forecast',
      'shop_create_order',
      'shop_inventory',
      'shop_pay',
    ]);
    expect(registry.get('shop_forecast')?.inputSchema).toMatchObject({
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
    });
    expect(registry.definitions('anthropic')[0]?.description).toBe('The forecast for a city.');
  });

  it('lets annotations lower the effect towards safety only, unless trusted', async () => {
    const untrusted = await setup({ effect: 'idempotent' });
    expect(untrusted.registry.get('forecast')?.effect).toBe('idempotent');
    expect(untrusted.registry.get('create_order')?.effect).toBe('non-idempotent');
    const byDefault = await setup();
    expect(byDefault.registry.get('forecast')?.effect).toBe('non-idempotent');
    const trusted = await setup({ trustAnnotations: true, tools: { pay: { effect: 'non-idempotent' } } });
    expect(trusted.registry.get('forecast')?.effect).toBe('idempotent');
    expect(trusted.registry.get('create_order')?.effect).toBe('non-idempotent');
    expect(effectFor({ readOnlyHint: true }, 'non-idempotent', false, 'idempotent')).toBe('idempotent');
  });

  it("retries a hung idempotent call, cancelling the remote's first attempt", async () => {
    const { registry, remote, callOptions } = await setup({ trustAnnotations: true });
    await expect(registry.call('forecast', { city: 'Oslo' }, { callId: 'call_f' })).resolves.toBe(
      'clear in Oslo',
    );
    expect(remote.calls.forecast).toBe(2);
    expect(remote.cancelled).toEqual(['forecast']);
    // Each attempt's signal, and a timeout that leaves the deadline to the policy (the SDK's own is 60 s).
    expect(callOptions).toHaveLength(2);
    for (const o of callOptions) {
      expect((o as { signal?: unknown }).signal).toBeInstanceOf(AbortSignal);
      expect((o as { timeout?: number }).timeout).toBeGreaterThan(60_000);
    }
  });

  it('never re-runs a hung non-idempotent call: its outcome is unknown', async () => {
    const { registry, remote } = await setup({ trustAnnotations: true });
    const err: unknown = await registry
      .call('create_order', { item: 'lamp' }, { callId: 'call_o' })
      .catch((e) => e);
    expect(isBreakwaterError(err) && err.outcome).toBe('unknown');
    expect(remote.calls.create_order).toBe(1);
    await vi.waitFor(() => expect(remote.cancelled).toEqual(['create_order']));
    // The operation's key travelled in _meta.
    expect(remote.metas[0]).toMatchObject({
      [IDEMPOTENCY_KEY_META]: keyFromCallId('create_order', 'call_o'),
    });
  });

  it('classifies isError results as failures: definite by default, retryable when the classifier says so', async () => {
    const { registry, remote } = await setup({
      trustAnnotations: true,
      classifyError: (result) => {
        const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
        return /temporarily/.test(text) ? { kind: 'overloaded', delivery: 'not_processed' } : undefined;
      },
    });
    await expect(registry.call('inventory', { item: 'lamp' })).resolves.toEqual({ stock: 3 });
    expect(remote.calls.inventory).toBe(2);

    const declined: unknown = await registry.call('pay', { amount: 5 }).catch((e) => e);
    expect(remote.calls.pay).toBe(1);
    expect(isBreakwaterError(declined) && declined.outcome).toBe('failed');
    expect(isBreakwaterError(declined) && declined.message).toMatch(/card declined/);
  });

  it('gives the model the structured error through handleToolCalls', async () => {
    const { registry } = await setup();
    const [answer] = await registry.handleToolCalls([
      { type: 'function_call', call_id: 'call_p', name: 'pay', arguments: '{"amount":5}' },
    ]);
    expect(JSON.parse(answer?.output ?? '')).toMatchObject({
      error: { type: 'dependency_failed', outcome: 'failed', retryable: false, details: { tool: 'pay' } },
    });
  });
});

describe('MCP transport failures', () => {
  it('a connection lost mid-call leaves a non-idempotent outcome unknown, and is not retried', async () => {
    const { registry, remote } = await setup({ profile: {} });
    const call = registry
      .call('create_order', { item: 'lamp' }, { callId: 'call_o' })
      .catch((e: unknown) => e);
    await vi.waitFor(() => expect(remote.calls.create_order).toBe(1));
    await remote.server.close();
    const err = await call;
    expect(isBreakwaterError(err) && err.outcome).toBe('unknown');
    expect(isBreakwaterError(err) && err.failure.kind).toBe('network');
    expect(remote.calls.create_order).toBe(1);
  });

  it('reads what each JSON-RPC error says about delivery', () => {
    const e = (code: number, message = 'x') => new McpError(code, message);
    expect(mcpFailure(e(ErrorCode.ConnectionClosed))).toMatchObject({ kind: 'network', delivery: 'unknown' });
    expect(mcpFailure(e(ErrorCode.RequestTimeout))).toMatchObject({ kind: 'timeout', delivery: 'unknown' });
    expect(mcpFailure(e(ErrorCode.InvalidParams))).toMatchObject({
      kind: 'invalid_input',
      delivery: 'processed',
    });
    expect(
      mcpFailure(e(ErrorCode.InvalidParams, "Structured content does not match the tool's output schema")),
    ).toMatchObject({
      delivery: 'unknown',
    });
    expect(mcpFailure(e(ErrorCode.MethodNotFound))).toMatchObject({
      kind: 'client_error',
      delivery: 'processed',
    });
    expect(mcpFailure(e(ErrorCode.InternalError))).toMatchObject({
      kind: 'server_error',
      delivery: 'unknown',
    });
    expect(mcpFailure(new Error('Not connected'))).toMatchObject({ kind: 'network', delivery: 'not_sent' });
    expect(mcpFailure(new Error('something else'))).toBeUndefined();
  });
});
