import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { ToolErrorOptions } from '../../tools/errors.js';

/** Model-facing text is bounded: a server may answer anything. */
const MESSAGE_MAX = 1_000;

/** The text blocks of a tool result, joined: what the server meant the model to read. */
export function textOf(content: unknown): string | undefined {
  if (!Array.isArray(content)) return undefined;
  const texts: string[] = [];
  for (const block of content) {
    if (typeof block !== 'object' || block === null) return undefined;
    const b = block as { type?: unknown; text?: unknown };
    if (b.type !== 'text' || typeof b.text !== 'string') return undefined;
    texts.push(b.text);
  }
  return texts.join('\n');
}

export function clip(text: string): string {
  return text.length > MESSAGE_MAX ? `${text.slice(0, MESSAGE_MAX)}…` : text;
}

function isMcpError(err: unknown): err is McpError {
  if (err instanceof McpError) return true;
  // Another copy of the SDK makes another class: recognize it by shape.
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as { name?: unknown }).name === 'McpError' &&
    typeof (err as { code?: unknown }).code === 'number'
  );
}

/**
 * What an error from `client.callTool` says about delivery, for the errors
 * only MCP can explain. Undefined leaves the error to breakwater's general
 * classification (an abort by our own signal, above all: the policy knows
 * better than the error why it aborted).
 */
export function mcpFailure(err: unknown): ToolErrorOptions | undefined {
  if (!isMcpError(err)) {
    // The client had no transport: nothing was written.
    if (err instanceof Error && err.message === 'Not connected')
      return { kind: 'network', delivery: 'not_sent', cause: err };
    return undefined;
  }
  switch (err.code) {
    case ErrorCode.ConnectionClosed:
      return { kind: 'network', delivery: 'unknown', cause: err };
    case ErrorCode.RequestTimeout:
      return { kind: 'timeout', delivery: 'unknown', cause: err };
    case ErrorCode.InvalidParams:
      // The client checks structured output against the tool's output schema after the tool ran.
      if (/output schema|structured content/i.test(err.message))
        return { kind: 'unknown', delivery: 'unknown', cause: err };
      return { kind: 'invalid_input', delivery: 'processed', cause: err };
    case ErrorCode.InvalidRequest:
    case ErrorCode.MethodNotFound:
    case ErrorCode.ParseError:
      return { kind: 'client_error', delivery: 'processed', cause: err };
    default:
      // InternalError and server-defined codes: the server failed somewhere, perhaps after acting.
      return { kind: 'server_error', delivery: 'unknown', cause: err };
  }
}

/** Why `importMcpTools` imported nothing. */
export type McpImportProblem = 'repeated_cursor' | 'too_many_pages' | 'name_invalid' | 'name_taken';

/**
 * The import could not be done whole, so nothing was registered: the
 * server's listing never ends, or two tools would share a registry name.
 */
export class McpImportError extends Error {
  constructor(
    readonly problem: McpImportProblem,
    message: string,
  ) {
    super(`importMcpTools: ${message}`);
    this.name = 'McpImportError';
  }
}
