/**
 * The last `size` latencies, in a ring, for a percentile of recent latency
 * (the hedging delay). Memory is bounded by `size` whatever the call rate, and
 * old samples fall out as new ones come in, so the delay follows a dependency
 * that slows down or recovers.
 */
export class LatencyTracker {
  private readonly samples: Float64Array;
  private next = 0;
  private filled = 0;

  constructor(readonly size = 100) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`size: expected a positive integer, got ${size}`);
    this.samples = new Float64Array(size);
  }

  /** Samples held (at most `size`). */
  get count(): number {
    return this.filled;
  }

  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.size;
    if (this.filled < this.size) this.filled++;
  }

  /**
   * The nearest-rank percentile `p` (0 < p ≤ 1) of the samples held, or
   * undefined with none. Sorting a copy of at most `size` numbers is paid only
   * when a delay is asked for, once per call.
   */
  percentile(p: number): number | undefined {
    if (this.filled === 0) return undefined;
    const sorted = this.samples.slice(0, this.filled).sort();
    const rank = Math.min(this.filled, Math.max(1, Math.ceil(p * this.filled)));
    return sorted[rank - 1];
  }
}
