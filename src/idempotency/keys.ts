import { randomUUID } from 'node:crypto';
import { fingerprint, sha256 } from './fingerprint.js';

/**
 * Keys are sent as the `Idempotency-Key` header and stored in the ledger, so
 * they must be printable ASCII without spaces; Stripe caps them at 255.
 */
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

export function isValidKey(key: unknown): key is string {
  return typeof key === 'string' && KEY_PATTERN.test(key);
}

/** Throws a `TypeError` naming the rule, never echoing the key (it may be derived from user data). */
export function assertValidKey(key: unknown, what = 'idempotency key'): asserts key is string {
  if (!isValidKey(key)) {
    const got = typeof key === 'string' ? `a string of length ${key.length}` : typeof key;
    throw new TypeError(`${what}: expected 1 to 255 printable ASCII characters without spaces, got ${got}`);
  }
}

/**
 * The key of a model's tool call: the same call delivered twice (a retried
 * request, a resumed conversation) maps to the same key. Hashed, because a
 * tool-call id is the model's text and may hold anything. A call id is only
 * unique within a conversation (some models number their calls from 0 in
 * each one), so `scope` (a tenant, a conversation) bounds it: the same id
 * under two scopes is two operations. Without a scope the key is what it
 * always was, so records written before scopes existed still replay.
 */
export function keyFromCallId(tool: string, callId: string, scope?: string): string {
  if (scope === undefined) return `bwc_${sha256(`call\0${tool}\0${callId}`).slice(0, 40)}`;
  // Both parts are the caller's text and may hold any character, so they are framed by JSON, and
  // the frame starts differently from the unscoped form: no call id, with or without a scope, can
  // be written so that its key is another scope's.
  return `bwc_${sha256(`call-scoped\0${JSON.stringify([tool, callId, scope])}`).slice(0, 40)}`;
}

/**
 * A key derived from what the call does rather than from which message asked
 * for it: a model re-issuing the same action in a later turn, under a new
 * tool-call id, gets the same key and a replay. `scope` bounds the sameness
 * (a conversation, a user); without one, the same input is the same operation
 * for as long as the ledger remembers it.
 */
export function contentKey(tool: string, input: unknown, scope?: string): string {
  return `bwx_${sha256(`content\0${tool}\0${fingerprint(input)}\0${scope ?? ''}`).slice(0, 40)}`;
}

/** A key for an operation nothing else can name: unique, so it only spans that operation's attempts. */
export function randomKey(): string {
  return randomUUID();
}
