import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult, Tool as McpTool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod/v4';
import { remoteTextCause } from '../../failure/remote-text.js';
import type { Effect } from '../../policy/decision.js';
import type { ProfileInput } from '../../policy/profile.js';
import { ToolError, type ToolErrorOptions } from '../../tools/errors.js';
import { TOOL_NAME_PATTERN } from '../../tools/formats.js';
import type { RegisteredTool, Registry, ToolIdempotency } from '../../tools/registry.js';
import { effectFor } from './effect.js';
import { clip, McpImportError, mcpFailure, textOf } from './failures.js';
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
  /** Pages of `tools/list` read at most; a server that pages on past this is refused. Default 100. */
  readonly maxPages?: number;
}

/** setTimeout's largest delay: the SDK's timer then never fires before the policy's signal does. */
const NO_TIMEOUT = 2 ** 31 - 1;

const DEFAULT_ERROR: ToolErrorOptions = { kind: 'client_error', delivery: 'processed' };

/** A tool's answer as its value: structured content, else its text, else the content blocks as they are. */
function resultValue(result: CallToolResult): unknown {
  if (result.structuredContent !== undefined) return result.structuredContent;
  return textOf(result.content) ?? result.content;
}

/** Every page of the server's tool list; a cursor seen before, or too many pages, ends it with an error. */
async function listAll(client: McpClientLike, maxPages: number): Promise<McpTool[]> {
  const tools: McpTool[] = [];
  const cursors = new Set<string>();
  let cursor: string | undefined;
  for (let pages = 0; ; pages++) {
    if (pages >= maxPages)
      throw new McpImportError('too_many_pages', `the tool list goes on past maxPages (${maxPages} pages)`);
    const page = await client.listTools(cursor !== undefined ? { cursor } : undefined);
    tools.push(...page.tools);
    cursor = page.nextCursor;
    if (cursor === undefined) return tools;
    if (cursors.has(cursor))
      throw new McpImportError(
        'repeated_cursor',
        `the server sent a nextCursor it had sent before (page ${pages + 1})`,
      );
    cursors.add(cursor);
  }
}

/**
 * A remote name in the registry's alphabet: MCP allows names (`weather.get`)
 * that tool-calling APIs refuse, so other characters become `_`.
 */
function registryName(remote: string, prefix: string): string {
  return `${prefix}${remote.replace(/[^a-zA-Z0-9_-]/g, '_')}`.slice(0, 64);
}

/** Each chosen remote tool's registry name, checked all together before any is registered. */
function namesFor(
  remotes: readonly McpTool[],
  registry: Registry,
  options: McpImportOptions,
): Map<McpTool, string> {
  const names = new Map<McpTool, string>();
  const taken = new Map<string, string>();
  for (const remote of remotes) {
    const name = options.tools?.[remote.name]?.name ?? registryName(remote.name, options.prefix ?? '');
    const field = `tools[${JSON.stringify(remote.name).slice(0, 80)}]`;
    if (!TOOL_NAME_PATTERN.test(name))
      throw new McpImportError('name_invalid', `${field}: "${name.slice(0, 80)}" is not a valid tool name`);
    const other = taken.get(name);
    if (other !== undefined || registry.get(name) !== undefined)
      throw new McpImportError(
        'name_taken',
        `${field}: "${name}" is already ${other !== undefined ? `the name of remote tool ${JSON.stringify(other).slice(0, 80)}` : 'registered'}; name it in options.tools`,
      );
    taken.set(name, remote.name);
    names.set(remote, name);
  }
  return names;
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
  const listed = await listAll(client, options.maxPages ?? 100);
  const chosen = listed.filter((remote) => !options.filter || options.filter(remote));
  // All names are settled first, so that one bad name leaves the registry as it was.
  const names = namesFor(chosen, registry, options);
  for (const remote of chosen) {
    const own = options.tools?.[remote.name] ?? {};
    const remoteName = remote.name;
    // Words about the tool that telemetry records name it by the registry name: bounded and in our alphabet. The
    // remote name is the server's own text, of any length, and may carry content.
    const name = names.get(remote)!;
    // `$schema` is the registry's to set; a draft-04 `id` would read to zod as a registry id of its own.
    const { $schema: _schema, id: _id, ...schema } = remote.inputSchema;
    const profile = own.profile ?? options.profile;
    const handle = registry.register({
      name,
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
          // The server's words go to the model; telemetry records them only with content capture.
          throw new ToolError(clip(err instanceof Error ? err.message : String(err)), {
            ...failure,
            cause: remoteTextCause(`the MCP request for ${name} failed (${failure.kind})`, failure.cause),
          });
        }
        if (result.isError === true) {
          const said = textOf(result.content);
          const standIn = `${name} reported an error`;
          const message = clip(said !== undefined && said !== '' ? said : standIn);
          const how = options.classifyError?.(result, remoteName) ?? DEFAULT_ERROR;
          throw new ToolError(message, { ...how, cause: remoteTextCause(standIn, how.cause) });
        }
        return resultValue(result);
      },
    });
    out.push(handle);
  }
  return out;
}
