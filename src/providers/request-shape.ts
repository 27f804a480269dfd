import { invalid } from './tools.js';
import type { ChatRequest } from './types.js';

const ROLES = new Set(['user', 'assistant', 'tool']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Arguments the wire formats must carry as JSON: a cycle or a BigInt would fail deep in a translator, naming nothing. */
function serializable(value: unknown): boolean {
  try {
    JSON.stringify(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * The neutral chat's shape, checked before any provider is tried: a request
 * from JavaScript (or from a framework adapter's bug) may not be what the
 * types say, and a TypeError from inside a translator names no field. The
 * messages' text is never quoted: it may be the user's.
 */
export function checkRequestShape(request: ChatRequest): void {
  const r = request as unknown;
  if (!isRecord(r)) throw invalid('request', 'expected a chat request object');
  if (r.system !== undefined && typeof r.system !== 'string') throw invalid('system', 'expected a string');
  if (!Array.isArray(r.messages)) throw invalid('messages', 'expected an array of messages');
  for (const [i, m] of r.messages.entries()) {
    const at = `messages[${i}]`;
    if (!isRecord(m)) throw invalid(at, 'expected a message object');
    if (typeof m.role !== 'string' || !ROLES.has(m.role))
      throw invalid(`${at}.role`, "expected 'user', 'assistant' or 'tool'");
    if (typeof m.content !== 'string') throw invalid(`${at}.content`, 'expected a string');
    if (m.role === 'tool' && typeof m.toolCallId !== 'string')
      throw invalid(`${at}.toolCallId`, 'expected the id of the tool call this answers');
    if (m.role !== 'assistant' || m.toolCalls === undefined) continue;
    if (!Array.isArray(m.toolCalls)) throw invalid(`${at}.toolCalls`, 'expected an array of tool calls');
    for (const [j, c] of m.toolCalls.entries()) {
      const call = `${at}.toolCalls[${j}]`;
      if (!isRecord(c)) throw invalid(call, 'expected a tool call object');
      if (typeof c.id !== 'string') throw invalid(`${call}.id`, 'expected a string');
      if (typeof c.name !== 'string') throw invalid(`${call}.name`, 'expected a string');
      if (!serializable(c.arguments))
        throw invalid(`${call}.arguments`, 'expected arguments JSON can carry (no cycles, no BigInt)');
    }
  }
}
