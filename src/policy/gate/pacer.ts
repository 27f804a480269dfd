import { LONGEST_TIMER_MS } from './longest-timer.js';
import type { GateOutcome } from './outcome.js';

/**
 * What the pacer has learned of a dependency's rate limit from its 429s. A
 * cycle runs from one exhaustion (the first 429 after a cooldown) to the next:
 * the dependency's allowance was empty at both ends, so the calls it accepted
 * in between, over the time between, is the rate it grants. A cycle in which
 * it accepted nothing measured no rate (it was still refusing, whatever its
 * pace): such a cycle leaves what was learned as it was.
 */
interface Learned {
  cycleStart: number;
  /** Answers in this cycle that were not 429s. */
  accepted: number;
  /** Time in this cycle with callers waiting, closed intervals only (see `busyIn`). */
  busyMs: number;
  /** Calls per ms the dependency grants; undefined until a cycle has measured it, or once it no longer binds. */
  rate: number | undefined;
  /** Accepted calls and elapsed ms of past measured cycles, each cycle's weight halving at the next. */
  sumAccepted: number;
  sumElapsed: number;
  /** The Retry-After that began this cycle: the scale of the dependency's window. */
  retryAfterMs: number;
  /** Calls accepted over the last measured cycle: no burst after a cooldown can safely be larger. */
  lastAccepted: number;
  /** A mirror of the dependency's allowance, refilled at `rate`, spent by each admission. */
  tokens: number;
  tokensAt: number;
  /**
   * Calls still in flight when the mirror was emptied. Each is charged to it
   * at once (it may reach the dependency after the allowance ran out, and
   * spend what the dependency regains) and refunded if it comes back 429.
   */
  unreserved: number;
  /** While the rate is unknown, how many calls may be in flight (a slow start); undefined when not ramping. */
  ramp: number | undefined;
  /** Half the calls in flight when the limit was met: the ramp doubles up to here, then grows by one per round trip. */
  rampThreshold: number;
  /**
   * Calls the dependency accepted in the burst that met its first 429: its
   * allowance. A ramp that gets as many accepted again within one cooldown
   * has found the pace (that allowance per Retry-After) without a second 429.
   */
  allowance: number;
  /** Pacing held a caller back since the pace last grew. */
  held: boolean;
  lastGrowth: number;
  /** `accepted` when the pace last grew: the pace grows only on calls the dependency took. */
  acceptedAtGrowth: number;
  /** How much the pace grows at the next quiet period; doubles at each one without a 429. */
  growth: number;
}

/** A cycle measures the dependency only if callers waited through most of it; otherwise it measured our load. */
const SATURATED = 0.9;
/** The first step up of the pace after a 429; each quiet period after it doubles the step. */
const FIRST_GROWTH = 0.05;

/**
 * Learns a dependency's pace from its 429s and admits calls at it, so that
 * a cooldown's end is not a second wave. Until a rate is measured it admits
 * by slow start: one call in flight, one more per call accepted. Its state is
 * a small machine driven by three events: a 429 that began an exhaustion, an
 * answer, and an admission; it reads time only as given.
 */
export class Pacer {
  private learned: Learned | undefined;
  /** Calls accepted since the gate was last idle, before any 429: the size of the current burst. */
  private acceptedSinceIdle = 0;
  private busySince: number | undefined;

  constructor(
    /** The gate's concurrency limit: the ramp ends there. */
    private readonly maxInFlight: number,
  ) {}

  /** The pace in calls per ms; undefined while unknown or not binding. */
  get ratePerMs(): number | undefined {
    return this.learned?.rate;
  }

  /** Whether the pacer is in slow start (the rate unknown, in-flight calls capped by the ramp). */
  get ramping(): boolean {
    return this.learned?.ramp !== undefined;
  }

  /**
   * The dependency answered 429 outside a cooldown: its allowance is spent.
   * Ends the cycle (measuring it if it can be measured) and starts the next.
   */
  exhausted(retryAfterMs: number, now: number, inFlight: number): void {
    const p = this.learned;
    if (p === undefined) {
      this.learned = firstCycle(retryAfterMs, now, inFlight, this.acceptedSinceIdle);
      return;
    }
    const measured = p.accepted > 0;
    if (measured) this.measure(p, retryAfterMs, now);
    p.cycleStart = now;
    p.accepted = 0;
    p.busyMs = 0;
    p.retryAfterMs = retryAfterMs;
    // The dependency's allowance is spent: the mirror starts empty, less what is still in flight.
    p.tokens = -inFlight;
    p.tokensAt = now;
    p.unreserved = inFlight;
    p.ramp = p.rate === undefined ? 1 : undefined;
    // A lone probe refused again says nothing of how many calls the dependency takes at once.
    if (measured) p.rampThreshold = Math.max(1, Math.floor(inFlight / 2));
    p.held = false;
    p.lastGrowth = now;
    p.acceptedAtGrowth = 0;
    p.growth = FIRST_GROWTH;
  }

  /** Folds the cycle that ends now into the learned rate, if callers waited through it. */
  private measure(p: Learned, retryAfterMs: number, now: number): void {
    const elapsed = now - p.cycleStart;
    if (elapsed <= 0 || this.busyIn(p, now) < SATURATED * elapsed) return;
    // Each 429 says how far the allowance was from one more call: (1 − waitMs × rate). Over the
    // cycle the dependency granted accepted + (1 − endWait·rate) − (1 − startWait·rate), so
    // rate = accepted / (elapsed + endWait − startWait), exact when the waits are in ms. Waits in
    // whole seconds (or dates) are too coarse for that; then the cycle's own length stands.
    const skew = retryAfterMs - p.retryAfterMs;
    const exact = Math.abs(skew) < elapsed / 2;
    const span = exact ? elapsed + skew : elapsed;
    // Without that correction the cycle ended somewhere within one call of the next: count half of one.
    p.sumAccepted = p.sumAccepted / 2 + p.accepted + (exact && skew !== 0 ? 0 : 0.5);
    p.sumElapsed = p.sumElapsed / 2 + span;
    p.rate = Math.max(floorRate(retryAfterMs), p.sumAccepted / p.sumElapsed);
    p.lastAccepted = p.accepted;
  }

  /** Whether the pace lets one more call go at `now`, with `inFlight` calls out. */
  admits(inFlight: number, now: number): boolean {
    const p = this.learned;
    if (p === undefined) return true;
    if (p.ramp !== undefined) {
      if (inFlight >= Math.floor(p.ramp)) return false;
      // Never more in flight than what is left of the allowance: the ramp stops short of a second 429.
      if (p.allowance > 0 && inFlight >= p.allowance - p.accepted) return false;
    }
    if (p.rate !== undefined) {
      this.refill(p, now);
      if (p.rate !== undefined && p.tokens < 1) {
        p.held = true;
        return false;
      }
    }
    return true;
  }

  /** A call goes: it spends one call of the mirrored allowance. Call it only after `admits` said yes. */
  admit(): void {
    const p = this.learned;
    if (p?.rate !== undefined) p.tokens -= 1;
  }

  /** A call ended; `outcome` undefined when it went unanswered (it teaches nothing). */
  answered(outcome: GateOutcome | undefined, inFlight: number, waiting: number, now: number): void {
    const p = this.learned;
    const accepted = outcome === 'answered';
    if (p === undefined) {
      if (accepted) this.acceptedSinceIdle++;
      if (inFlight === 0 && waiting === 0) this.acceptedSinceIdle = 0;
      return;
    }
    if (outcome === undefined) return;
    if (p.unreserved > 0) {
      p.unreserved--;
      if (!accepted) p.tokens += 1;
    }
    if (!accepted) return;
    // Counted when answered, not when admitted: a straggler admitted long ago still spent this cycle's allowance.
    p.accepted++;
    if (p.ramp === undefined) return;
    if (p.allowance > 0 && p.accepted >= p.allowance) this.paceAtAllowance(p, inFlight, now);
    else {
      // TCP's slow start: double per round trip up to the threshold, then one more per round trip,
      // so that meeting the limit again costs a few 429s, not a wave.
      p.ramp += p.ramp < p.rampThreshold ? 1 : 1 / p.ramp;
      if (p.ramp >= this.maxInFlight) p.ramp = undefined;
    }
  }

  /** The ramp got the whole allowance accepted again within a cooldown: pace at one allowance per Retry-After. */
  private paceAtAllowance(p: Learned, inFlight: number, now: number): void {
    p.rate = Math.max(floorRate(p.retryAfterMs), p.allowance / p.retryAfterMs);
    p.sumAccepted = p.allowance;
    p.sumElapsed = p.retryAfterMs;
    p.lastAccepted = p.allowance;
    p.ramp = undefined;
    // The allowance is spent, and calls still in flight will spend more.
    p.tokens = -inFlight;
    p.tokensAt = now;
    p.unreserved = inFlight;
    p.held = false;
    p.lastGrowth = now;
    p.acceptedAtGrowth = p.accepted;
  }

  /**
   * Refills the mirror of the dependency's allowance. Once per quiet period
   * (no 429) the pace steps up if it held callers back while the dependency
   * accepted calls, each step twice the last (at most a doubling), so a limit that rose (or a
   * pace learned too low) is left behind within a few periods; a pace that
   * held nobody back for a whole period no longer binds and is dropped.
   */
  private refill(p: Learned, now: number): void {
    if (p.rate === undefined) return;
    const every = quietPeriod(p.retryAfterMs);
    if (now - p.lastGrowth >= every) {
      if (!p.held) {
        p.rate = undefined;
        return;
      }
      if (p.accepted > p.acceptedAtGrowth) {
        p.rate *= 1 + p.growth;
        p.growth = Math.min(1, p.growth * 2);
      }
      p.held = false;
      p.lastGrowth = now;
      p.acceptedAtGrowth = p.accepted;
    }
    // A full mirror holds what the dependency regains in one Retry-After (the burst it will take after a
    // cooldown), never more than it accepted in a whole cycle (its allowance may hold less), and one call
    // short of that: a burst that empties the allowance exactly leaves the next call a 429 away.
    const cap = Math.max(1, Math.min(p.rate * p.retryAfterMs, p.lastAccepted) - 1);
    if (now > p.tokensAt) {
      p.tokens = Math.min(cap, p.tokens + (now - p.tokensAt) * p.rate);
      p.tokensAt = now;
    }
  }

  /** Milliseconds until the pace lets the next call go (its mirror refilled by `admits`); undefined when it holds nobody. */
  msUntilNext(): number | undefined {
    const p = this.learned;
    if (p?.rate === undefined || p.tokens >= 1) return undefined;
    return Math.min(LONGEST_TIMER_MS, Math.ceil((1 - p.tokens) / p.rate));
  }

  /**
   * Milliseconds from `now` until the pace can have let `count` calls go: a
   * lower bound (the mirror's cap and the ramp only make it later), so a
   * caller it rules out could not have been served.
   */
  msUntil(count: number, now: number): number | undefined {
    const p = this.learned;
    if (p?.rate === undefined) return undefined;
    // Calls in flight still charged to the mirror are refunded if they come back 429: count them as refunded.
    const tokens = p.tokens + p.unreserved + Math.max(0, now - p.tokensAt) * p.rate;
    if (tokens >= count) return undefined;
    return Math.min(LONGEST_TIMER_MS, Math.ceil((count - tokens) / p.rate));
  }

  /** Callers started or stopped waiting: a cycle measures the dependency only if they waited through it. */
  waiting(isWaiting: boolean, now: number): void {
    if (isWaiting) {
      this.busySince ??= now;
      return;
    }
    const p = this.learned;
    if (p && this.busySince !== undefined) p.busyMs += now - Math.max(this.busySince, p.cycleStart);
    this.busySince = undefined;
  }

  /** Time in the current cycle during which callers were waiting. */
  private busyIn(p: Learned, now: number): number {
    return p.busyMs + (this.busySince === undefined ? 0 : now - Math.max(this.busySince, p.cycleStart));
  }
}

/**
 * How often the pace may step up: long enough for a 429 to have answered the
 * last step (ten Retry-Afters), at least a second.
 */
function quietPeriod(retryAfterMs: number): number {
  return Math.max(1_000, 10 * retryAfterMs);
}

/**
 * The slowest pace the pacer keeps: one call per quiet period. Only a guard:
 * measured cycles have accepted calls, so their rate is above zero, but a
 * long cycle could bring it near zero, and a wait of 1 / rate must stay a
 * finite timer.
 */
function floorRate(retryAfterMs: number): number {
  return 1 / quietPeriod(retryAfterMs);
}

function firstCycle(retryAfterMs: number, now: number, inFlight: number, allowance: number): Learned {
  return {
    cycleStart: now,
    accepted: 0,
    busyMs: 0,
    rate: undefined,
    sumAccepted: 0,
    sumElapsed: 0,
    lastAccepted: 0,
    retryAfterMs,
    tokens: -inFlight,
    tokensAt: now,
    unreserved: inFlight,
    ramp: 1,
    rampThreshold: Math.max(1, Math.floor(inFlight / 2)),
    allowance,
    held: false,
    lastGrowth: now,
    acceptedAtGrowth: 0,
    growth: FIRST_GROWTH,
  };
}
