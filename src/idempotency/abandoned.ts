const ABANDONED = 'an earlier call did not report back before its lease ended';

export type AbandonedVerdict =
  | { readonly run: true }
  | { readonly run: false; readonly found: true; readonly value: unknown }
  | { readonly run: false; readonly found: false; readonly reason: string };

/**
 * What to do with an abandoned claim (its owner died) when repeating the
 * operation is unsafe: ask `reconcile`, when there is one. Only an explicit
 * `{ found: false }` runs it again; a throw or any other answer leaves the
 * outcome unknown, with the reason.
 */
export async function judgeAbandoned(
  reconcile: (() => Promise<unknown>) | undefined,
): Promise<AbandonedVerdict> {
  if (reconcile === undefined) return { run: false, found: false, reason: ABANDONED };
  let answer: unknown;
  try {
    answer = await reconcile();
  } catch {
    return {
      run: false,
      found: false,
      reason: `${ABANDONED}, and reconcile could not tell whether it took effect`,
    };
  }
  const a = answer as { found?: unknown; value?: unknown } | null;
  if (a !== null && typeof a === 'object' && a.found === false) return { run: true };
  if (a !== null && typeof a === 'object' && a.found === true && 'value' in a)
    return { run: false, found: true, value: a.value };
  return { run: false, found: false, reason: `${ABANDONED}, and reconcile gave no valid answer` };
}
