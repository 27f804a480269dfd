import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult, Tool as McpTool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod/v4';
import type { Effect } from '../../policy/decision.js';
import type { ProfileInput } from '../../policy/profile.js';
import { ToolError, type ToolErrorOptions } from '../../tools/errors.js';
import type { RegisteredTool, Registry, ToolIdempotency } from '../../tools/registry.js';
import { effectFor } from './effect.js';
import { clip, mcpFailure, textOf } from './failures.js';
import { IDEMPOTENCY_KEY_META } from './meta.js';

/** The part of an MCP `Client` this needs. */
export type McpClientLike = Pick<Client, 'listTools' | 'callTool'>;

/** Settings for one remote tool, by its name on the server. */
export interface McpToolOptions {
  /** Its name in the registry (default: `prefix` + the remote name). */
  readonly name?: string;
  /** Wins over annotations and the default. */
  readonly effect?: Effect;
  readonly profile?: string | ProfileInput;
  readonly idempotency?: ToolIdempotency<Record<string, unknown>, unknown>;
}

export interface McpImportOptions {
  /** Put before every remote name (`github_`), keeping several servers' tools apart. */
  readonly prefix?: string;
  /** Which remote tools to import; all by default. */
  readonly filter?: (tool: McpTool) => boolean;
  /** The effect of a tool with no setting of its own; `non-idempotent` by default. */
  readonly effect?: Effect;
  /**
   * Let `readOnlyHint` / `idempotentHint` make a tool idempotent (retried
   * after a timeout). Off by default: annotations are the server's
   * unverified word, so they may only lower the effect towards safety.
   */
  readonly trustAnnotations?: boolean;
  /** The profile of a tool with no setting of its own (default: the built-in of its effect). */
  readonly profile?: string | ProfileInput;
  /** Per remote tool name. */
  readonly tools?: Readonly<Record<string, McpToolOptions>>;
  /**
   * What an `isError: true` result means. Default: a definite failure
   * (`client_error`, `processed`): the server ran the tool and says it failed,
   * which a retry will not change, and the model reads the server's words.
   * Say `{ delivery: 'not_processed' }` for a server whose errors mean "try again".
   */
  readonly classifyError?: (result: CallToolResult, tool: string) => ToolErrorOptions | undefined;
  /**
   * The MCP client's own per-request timeout. By default it is out of the
   * way (the policy's attempt timeout and deadline govern, through the
   * signal); the SDK's 60 s default would otherwise cut every call at 60 s.
   */
  readonly requestTimeoutMs?: number;
}

/** setTimeout's largest delay: the SDK's timer then never fires before the policy's signal does. */
const NO_TIMEOUT = 2 ** 31 - 1;

const DEFAULT_ERROR: ToolErrorOptions = { kind: 'client_error', delivery: 'processed' };

/** A tool's answer as its value: structured content, else its text, else the content blocks as they are. */
function resultValue(result: CallToolResult): unknown {
  if (result.structuredContent !== undefined) return result.structuredContent;
  return textOf(result.content) ?? result.content;
}

async function listAll(client: McpClientLike): Promise<McpTool[]> {
  const tools: McpTool[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor !== undefined ? { cursor } : undefined);
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return tools;
}

/**
 * Imports a remote MCP server's tools into the registry, each under a
 * profile, so that the model calls them like any other tool. An `isError`
 * result is a failure (classified by `classifyError`), a transport failure is
 * classified by what it says about delivery, and every attempt passes the
 * policy's signal and a timeout out of the policy's way to `callTool`. The
 * operation's idempotency key goes along in `_meta` (`breakwater/idempotency-key`).
 *
 * Input is validated by the server, which owns the schema; the registry
 * checks only that the arguments are an object, and shows models the
 * server's schema unchanged.
 */
export async function importMcpTools(
  client: McpClientLike,
  registry: Registry,
  options: McpImportOptions = {},
): Promise<RegisteredTool[]> {
  const out: RegisteredTool[] = [];
  const timeout = options.requestTimeoutMs ?? NO_TIMEOUT;
  for (const remote of await listAll(client)) {
    if (options.filter && !options.filter(remote)) continue;
    const own = options.tools?.[remote.name] ?? {};
    const remoteName = remote.name;
    // `$schema` is the registry's to set; a draft-04 `id` would read to zod as a registry id of its own.
    const { $schema: _schema, id: _id, ...schema } = remote.inputSchema;
    const profile = own.profile ?? options.profile;
    const handle = registry.register({
      name: own.name ?? `${options.prefix ?? ''}${remoteName}`,
      ...(remote.description !== undefined ? { description: remote.description } : {}),
      // Any object passes here; `.meta` makes the JSON Schema models see the server's own.
      input: z.object({}).catchall(z.unknown()).meta(schema),
      effect: effectFor(
        remote.annotations,
        options.effect ?? 'non-idempotent',
        options.trustAnnotations === true,
        own.effect,
      ),
      ...(profile !== undefined ? { profile } : {}),
      ...(own.idempotency !== undefined ? { idempotency: own.idempotency } : {}),
      execute: async (input, ctx) => {
        let result: CallToolResult;
        try {
          result = (await client.callTool(
            { name: remoteName, arguments: input, _meta: { [IDEMPOTENCY_KEY_META]: ctx.idempotencyKey } },
            undefined,
            { signal: ctx.signal, timeout },
          )) as CallToolResult;
        } catch (err) {
          // Aborted by our own signal: the policy knows why (attempt timeout, deadline, caller) better than the error.
          if (ctx.signal.aborted) throw err;
          const failure = mcpFailure(err);
          if (!failure) throw err;
          throw new ToolError(clip(err instanceof Error ? err.message : String(err)), failure);
        }
        if (result.isError === true) {
          const said = textOf(result.content);
          const message = clip(said !== undefined && said !== '' ? said : `${remoteName} reported an error`);
          throw new ToolError(message, options.classifyError?.(result, remoteName) ?? DEFAULT_ERROR);
        }
        return resultValue(result);
      },
    });
    out.push(handle);
  }
  return out;
}
