import { randomUUID } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ListToolsRequestSchema,
  type Tool as McpTool,
} from '@modelcontextprotocol/sdk/types.js';
import { isValidKey } from '../../idempotency/keys.js';
import { UnknownToolError } from '../../tools/errors.js';
import { TOOL_NAME_PATTERN, type ToolErrorPayload } from '../../tools/formats.js';
import { toolErrorPayload } from '../../tools/handle.js';
import type { Registry } from '../../tools/registry.js';
import { runTool } from '../shared/run.js';
import { selectTools, type ToolSelection } from '../shared/select.js';
import { toText, unserializable } from '../shared/serialize.js';
import { IDEMPOTENCY_KEY_META } from './meta.js';

export interface McpServerOptions extends ToolSelection {
  /** The server's name and version, as clients see them. */
  readonly name?: string;
  readonly version?: string;
  /** A time budget per call; the profile's `timeout.totalMs` still applies. */
  readonly deadlineMs?: number;
  /** Bounds content-derived keys. */
  readonly scope?: string;
  /**
   * What to do with the key a client sends in
   * `_meta['breakwater/idempotency-key']` (a breakwater client sends its
   * operation's key there, the same on every retry). By default it is the
   * call's id within the client's session: a client's retry replays instead
   * of running twice, and no client can reach another session's results.
   * `true` also makes it the operation's key as sent (so a client that
   * reconnects replays too); only for clients you trust, since a client that
   * knew another's key and input would receive its result.
   */
  readonly acceptIdempotencyKeys?: boolean;
}

function failed(payload: ToolErrorPayload): CallToolResult {
  return {
    isError: true,
    content: [{ type: 'text', text: JSON.stringify(payload) }],
    structuredContent: { ...payload },
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/**
 * The registry's tools served as an MCP server: connect it to a transport
 * (`await server.connect(transport)`). Every call goes through its tool's
 * policy; the client's cancellation (or a closed connection) aborts the
 * operation; a failure is an `isError` result whose text is the structured
 * error. Idempotent tools are announced with `idempotentHint: true`, others
 * with `idempotentHint: false`.
 */
export function createMcpServer(registry: Registry, options: McpServerOptions = {}): Server {
  const server = new Server(
    { name: options.name ?? 'breakwater', version: options.version ?? '0.0.0' },
    { capabilities: { tools: {} } },
  );
  const tools = selectTools(registry, options);
  const served = new Set(tools.map((t) => t.name));
  // Transports without sessions (stdio, in-memory) serve one client per server instance.
  const instance = randomUUID();

  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: tools.map(
      (t): McpTool => ({
        name: t.name,
        ...(t.description !== undefined ? { description: t.description } : {}),
        inputSchema: t.inputSchema,
        annotations: { idempotentHint: t.effect === 'idempotent' },
      }),
    ),
  }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const { name, arguments: args, _meta: meta } = request.params;
    if (!served.has(name)) {
      const shown = TOOL_NAME_PATTERN.test(name) ? `"${name}"` : 'with an invalid name';
      return failed(toolErrorPayload(new UnknownToolError(shown, [...served]), undefined, 'failed'));
    }
    const offered = meta?.[IDEMPOTENCY_KEY_META];
    const valid = isValidKey(offered) ? offered : undefined;
    const session = extra.sessionId ?? instance;
    const run = await runTool(registry, name, args ?? {}, {
      signal: extra.signal,
      deadlineMs: options.deadlineMs,
      scope: options.scope,
      // Framed, so that no session id and key can be split another way into another session's call.
      ...(valid !== undefined ? { callId: `mcp:${JSON.stringify([session, valid])}` } : {}),
      idempotencyKey: options.acceptIdempotencyKeys === true ? valid : undefined,
    });
    if (!run.ok) return failed(run.payload);
    const text = toText(run.value);
    if (text === undefined) return failed(unserializable(name));
    return {
      content: [{ type: 'text', text }],
      ...(isPlainObject(run.value) ? { structuredContent: run.value } : {}),
    };
  });
  return server;
}
