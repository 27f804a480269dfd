import type { Failure } from '../../failure/failure.js';
import { isContextWindow } from '../routing.js';
import type { ChatResponse } from '../types.js';
import type { ResolvedGroup } from './options.js';
import type { FallbackClass } from './types.js';

/** A failure of one deployment in a group, as far as group fallbacks care. */
export interface GroupFailure {
  readonly failure: Failure;
  /** Skipped by the pre-check: the estimate did not fit its context window. */
  readonly tooSmall: boolean;
}

/**
 * Why a whole group failed a call: `context_window` when every deployment
 * tried said (or the pre-check found) the prompt does not fit, since only a
 * larger window cures that; `unavailable` otherwise — a deployment the prompt
 * fits was down, cooling, rate limited or refusing, so any group may do.
 */
export function exhaustedClass(failures: readonly GroupFailure[]): FallbackClass {
  return failures.length > 0 && failures.every((f) => f.tooSmall || isContextWindow(f.failure))
    ? 'context_window'
    : 'unavailable';
}

/** An answer the provider's content filter stopped, or a refusal. */
export function contentStopped(r: ChatResponse): boolean {
  return r.finishReason === 'content_filter' || r.finishReason === 'refusal';
}

const FIELD: Readonly<Record<FallbackClass, 'contextWindow' | 'contentPolicy' | 'unavailable'>> = {
  context_window: 'contextWindow',
  content_policy: 'contentPolicy',
  unavailable: 'unavailable',
};

/**
 * The group a call moves to from `from` for `cls`, or undefined to stop
 * there. The configured group, if not yet visited in this call; for a
 * context window with none configured, the first group not yet visited with
 * a deployment whose window is known to fit `estimate`.
 */
export function fallbackTarget(
  from: ResolvedGroup,
  cls: FallbackClass,
  groups: ReadonlyMap<string, ResolvedGroup>,
  visited: ReadonlySet<string>,
  estimate: number,
): ResolvedGroup | undefined {
  const named = from.fallbacks[FIELD[cls]];
  if (named !== undefined) return visited.has(named) ? undefined : groups.get(named);
  if (cls !== 'context_window') return undefined;
  for (const g of groups.values()) {
    if (visited.has(g.name)) continue;
    if (g.members.some((d) => d.contextWindow !== undefined && d.contextWindow >= estimate)) return g;
  }
  return undefined;
}
