import type { Effect } from '../../policy/decision.js';

/** MCP's tool annotations that bear on repeating a call (`ToolAnnotations`). */
export interface McpAnnotations {
  readonly readOnlyHint?: boolean | undefined;
  readonly idempotentHint?: boolean | undefined;
  readonly destructiveHint?: boolean | undefined;
}

/**
 * What the annotations say about repeating a call: read-only or idempotent
 * means a repeat is harmless; anything else (MCP's defaults included:
 * destructive, not idempotent) means it is not. Undefined when the server
 * says nothing at all.
 */
export function hintedEffect(annotations: McpAnnotations | undefined): Effect | undefined {
  if (!annotations) return undefined;
  const { readOnlyHint, idempotentHint, destructiveHint } = annotations;
  if (readOnlyHint === undefined && idempotentHint === undefined && destructiveHint === undefined)
    return undefined;
  if (readOnlyHint === true || idempotentHint === true) return 'idempotent';
  return 'non-idempotent';
}

/**
 * The effect an imported tool gets. Annotations are the server's word, and
 * the spec calls them untrusted hints: by default they may only make a tool
 * *safer* (a base of `idempotent` lowered by a server that says otherwise),
 * never make it retryable. With `trust`, they decide both ways. A per-tool
 * setting of the user's wins over both.
 */
export function effectFor(
  annotations: McpAnnotations | undefined,
  base: Effect,
  trust: boolean,
  override: Effect | undefined,
): Effect {
  if (override !== undefined) return override;
  const hinted = hintedEffect(annotations);
  if (hinted === undefined) return base;
  if (trust) return hinted;
  return hinted === 'non-idempotent' ? 'non-idempotent' : base;
}
