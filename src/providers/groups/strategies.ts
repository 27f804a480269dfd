import type { Random } from '../../policy/clock.js';
import type { SkipReason, StrategyName } from './types.js';

/** What a strategy may know of one deployment at the moment of choosing. */
export interface DeploymentView {
  /** Position in the group's declaration order. */
  readonly index: number;
  readonly weight: number;
  /** Calls in progress on it in this process. */
  readonly inFlight: number;
  /** Decaying average time to first token (to the answer, for a chat); undefined before the first sample. */
  readonly latencyMs: number | undefined;
  /** Share (0..1) of its rate limit left; undefined when nothing is known. */
  readonly headroom: number | undefined;
  /** Why it would be passed over now, or undefined when it can take a request now. */
  readonly unhealthy: SkipReason | undefined;
}

/** Picks one of `candidates` (never empty, all healthy). */
export type Strategy = (candidates: readonly DeploymentView[], random: Random) => DeploymentView;

/** The lowest `score`, ties broken at random so that equal deployments share the load. */
function lowest(
  candidates: readonly DeploymentView[],
  random: Random,
  score: (d: DeploymentView) => number,
): DeploymentView {
  let best: DeploymentView[] = [];
  let min = Number.POSITIVE_INFINITY;
  for (const d of candidates) {
    const s = score(d);
    if (s < min) {
      min = s;
      best = [d];
    } else if (s === min) best.push(d);
  }
  if (best.length === 0) return candidates[0]!;
  return best[Math.min(best.length - 1, Math.floor(random() * best.length))]!;
}

const ordered: Strategy = (candidates) =>
  candidates.reduce((a, b) => (b.index < a.index ? b : a), candidates[0]!);

const weighted: Strategy = (candidates, random) => {
  // Weights are scaled by the largest: any finite weight is accepted, and two near
  // Number.MAX_VALUE would sum to Infinity, sending every call to the last deployment.
  let max = 0;
  for (const d of candidates) max = Math.max(max, d.weight);
  let total = 0;
  for (const d of candidates) total += d.weight / max;
  let point = random() * total;
  for (const d of candidates) {
    point -= d.weight / max;
    if (point < 0) return d;
  }
  // random() is below 1, but float sums may leave a hair: the last one takes it.
  return candidates[candidates.length - 1]!;
};

const leastInFlight: Strategy = (candidates, random) => lowest(candidates, random, (d) => d.inFlight);

/** A deployment never measured counts as fastest, so that it gets measured. */
const lowestLatency: Strategy = (candidates, random) => lowest(candidates, random, (d) => d.latencyMs ?? 0);

/** A deployment whose quota is unknown counts as full, so that its headers get read. */
const mostQuota: Strategy = (candidates, random) => lowest(candidates, random, (d) => -(d.headroom ?? 1));

export const STRATEGY: Readonly<Record<StrategyName, Strategy>> = {
  ordered,
  weighted,
  'least-in-flight': leastInFlight,
  'lowest-latency': lowestLatency,
  'most-quota': mostQuota,
};

/**
 * The deployment to try next among those not yet tried in this call: the
 * strategy's pick among the healthy ones; with none healthy, the one with
 * the fewest calls in progress or waiting among those only short of quota
 * (the call waits there for room, and piling every waiting call onto the
 * first would leave the others' room unused when it comes); else the first
 * in declaration order (its own policy then decides: wait out a cooldown,
 * reject on an open breaker). `ordered` always takes the first, healthy or
 * not, as v1's router did: an unhealthy one there is skipped by the
 * caller's rules.
 */
export function pickNext(
  untried: readonly DeploymentView[],
  strategy: StrategyName,
  random: Random,
): DeploymentView | undefined {
  if (untried.length === 0) return undefined;
  const first = ordered(untried, random);
  if (strategy === 'ordered') return first;
  const healthy = untried.filter((d) => d.unhealthy === undefined);
  if (healthy.length > 0) return STRATEGY[strategy](healthy, random);
  const waiting = untried.filter((d) => d.unhealthy === 'no_quota');
  return waiting.length > 0 ? lowest(waiting, random, (d) => d.inFlight) : first;
}
