import type { BreakwaterError } from '../failure/errors.js';
import type { Failure } from '../failure/failure.js';

/**
 * What a provider's failure means for the rest of a routed call:
 * - `caller`: the caller's own mistake or wish (a malformed request, a
 *   cancel); another provider would only repeat it, so it is thrown at once.
 * - `refused`: this provider will refuse every request for now (a bad key, no
 *   credit, no such model); fail over, and skip it for a while.
 * - `next`: this request failed here (an outage, a rate limit, a prompt
 *   longer than this model's window); fail over, and try it again next time.
 * - `content_policy`: the provider's content policy stopped this request; a
 *   group with a `contentPolicy` fallback moves to that group, any other
 *   treats it as `caller` (another deployment of one model would refuse it too).
 *
 * docs/providers.md has the table and the reasoning.
 */
export type RouteVerdict = 'caller' | 'refused' | 'next' | 'content_policy';

export function routeVerdict(f: Failure): RouteVerdict {
  switch (f.kind) {
    case 'cancelled':
    case 'invalid_input':
      return 'caller';
    case 'auth':
      return 'refused';
    case 'client_error':
      if (f.code === 'model_not_found' || f.status === 404) return 'refused';
      if (f.code === 'content_policy_violation') return 'content_policy';
      if (isContextWindow(f)) return 'next';
      return 'caller';
    default:
      return 'next';
  }
}

/** The prompt does not fit this model's context window. */
export function isContextWindow(f: Failure): boolean {
  return (
    f.kind === 'client_error' &&
    (f.code === 'context_length_exceeded' || f.code === 'request_too_large' || f.status === 413)
  );
}

/** A wait another provider could make unnecessary: this one is busy, not broken. */
export function isBusy(f: Failure): boolean {
  return f.kind === 'rate_limited' || f.kind === 'overloaded';
}

/**
 * Which providers refused (bad key, no credit, unknown model) and until when,
 * so that no request goes to a provider that has said it will refuse it. One
 * request is let through once the time is up: the key may have been fixed.
 */
export class Refusals {
  private readonly until = new Map<object, { readonly at: number; readonly error: BreakwaterError }>();

  constructor(private readonly ms: number) {}

  refuse(route: object, error: BreakwaterError, now: number): void {
    this.until.set(route, { at: now + this.ms, error });
  }

  /** The refusal that still stands for this route, if any. */
  standing(route: object, now: number): BreakwaterError | undefined {
    const r = this.until.get(route);
    if (r === undefined) return undefined;
    if (r.at <= now) {
      this.until.delete(route);
      return undefined;
    }
    return r.error;
  }
}
