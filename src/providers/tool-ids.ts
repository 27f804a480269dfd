import { randomUUID } from 'node:crypto';

const ANTHROPIC_ID = /^[a-zA-Z0-9_-]+$/;
const ENCODED = 'bwx_';

/**
 * Another provider's tool-call id in the characters Anthropic accepts
 * (`[a-zA-Z0-9_-]`), one-to-one: an id that already fits is kept (unless it
 * looks like one of ours), any other becomes `bwx_` and its UTF-8 bytes in
 * base64url, whose alphabet is exactly those characters. Two different ids
 * never become one, and the same id becomes the same on every turn, so a
 * `tool_result` still finds its `tool_use`.
 */
export function anthropicToolId(id: string): string {
  if (ANTHROPIC_ID.test(id) && !id.startsWith(ENCODED)) return id;
  return ENCODED + Buffer.from(id, 'utf8').toString('base64url');
}

/**
 * An id for a tool call that a provider sent without one (several
 * OpenAI-compatible servers do). Random, so that no two calls of a
 * conversation share one: an index (`call_0`) would repeat on every turn.
 */
export function freshToolCallId(): string {
  return `call_${randomUUID().replaceAll('-', '')}`;
}

/** The provider's id, or a fresh one when it sent none. */
export function toolCallIdOr(id: unknown): string {
  return typeof id === 'string' && id !== '' ? id : freshToolCallId();
}
