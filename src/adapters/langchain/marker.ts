/**
 * Set in the `metadata` of the tools `createLangchainTools` makes: they run their
 * own policy, so the middleware lets them through rather than wrapping a
 * second policy (and a second retry loop) around the first.
 */
export const GOVERNED = 'breakwater.governed';

export function isGoverned(tool: unknown): boolean {
  if (typeof tool !== 'object' || tool === null) return false;
  const metadata = (tool as { metadata?: unknown }).metadata;
  return (
    typeof metadata === 'object' &&
    metadata !== null &&
    (metadata as Record<string, unknown>)[GOVERNED] === true
  );
}
