/**
 * The `_meta` field in which a breakwater client sends the operation's
 * idempotency key with `tools/call`, the same on every attempt. MCP has no
 * key of its own; a server that de-duplicates by this one (a breakwater
 * server with `acceptIdempotencyKeys`) makes a retry under it safe, which is
 * what `idempotency.honored` declares on the client side.
 */
export const IDEMPOTENCY_KEY_META = 'breakwater/idempotency-key';
