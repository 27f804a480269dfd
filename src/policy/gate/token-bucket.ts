/**
 * The configured rate limit: at most `limit` calls per `intervalMs`, bursts
 * up to `limit`. Tokens are refilled lazily from the elapsed time, so the
 * bucket keeps no timer.
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    readonly limit: number,
    readonly intervalMs: number,
    now: number,
  ) {
    this.tokens = limit;
    this.at = now;
  }

  /** Tokens available at `now` (fractional while refilling). */
  available(now: number): number {
    const elapsed = now - this.at;
    if (elapsed > 0) {
      this.tokens = Math.min(this.limit, this.tokens + (elapsed * this.limit) / this.intervalMs);
      this.at = now;
    }
    return this.tokens;
  }

  /** Whether a call may go at `now`. */
  allows(now: number): boolean {
    return this.available(now) >= 1;
  }

  /** Spends one token; call it only after `allows` said yes. */
  take(): void {
    this.tokens -= 1;
  }

  /** Milliseconds from `now` until `count` calls in a row can have gone (0 if they can go now). */
  msUntil(count: number, now: number): number {
    const missing = count - this.available(now);
    return missing <= 0 ? 0 : Math.ceil((missing * this.intervalMs) / this.limit);
  }
}
