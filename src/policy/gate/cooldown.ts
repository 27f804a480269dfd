/**
 * A pause of every caller until a moment the dependency named (its
 * Retry-After). It only ever lengthens: a shorter Retry-After that arrives
 * while a longer pause is on came from a call sent during the same
 * exhaustion, and must not cut the pause short.
 */
export class Cooldown {
  private until = 0;

  /** The moment the pause ends; 0 when there has been none. */
  get endsAt(): number {
    return this.until;
  }

  /** Milliseconds left of the pause at `now`; 0 when none is on. */
  remaining(now: number): number {
    return this.until > now ? this.until - now : 0;
  }

  /** Whether callers are paused at `now`. */
  active(now: number): boolean {
    return this.until > now;
  }

  /** Pauses until `until`; returns false (and changes nothing) when a pause at least as long is on. */
  extend(until: number): boolean {
    if (until <= this.until) return false;
    this.until = until;
    return true;
  }
}
