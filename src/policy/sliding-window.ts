/**
 * Counters over a time-based sliding window made of fixed buckets, rotated
 * lazily on read and write: no timers, and memory bounded by the bucket count
 * whatever the call rate (Polly and Resilience4j do the same; opossum's
 * per-call records and interval timers are what this avoids).
 */
export class SlidingWindow<K extends string> {
  private readonly counts: Float64Array;
  private readonly bucketMs: number;
  /** Counters per bucket (one per key). */
  private readonly width: number;
  private head = 0;
  private headStart: number;
  private readonly index: Readonly<Record<K, number>>;

  constructor(
    readonly windowMs: number,
    readonly buckets: number,
    keys: readonly K[],
    now: number,
  ) {
    this.bucketMs = Math.max(1, windowMs / buckets);
    this.width = keys.length;
    this.counts = new Float64Array(buckets * keys.length);
    const index = {} as Record<K, number>;
    keys.forEach((k, i) => {
      index[k] = i;
    });
    this.index = index;
    this.headStart = this.bucketStart(now);
  }

  /**
   * Buckets start at multiples of their width, not when the window was made:
   * every process (and the shared window in Redis) then cuts time the same
   * way, so a count means the same thing wherever it is kept.
   */
  private bucketStart(now: number): number {
    return Math.floor(now / this.bucketMs) * this.bucketMs;
  }

  private rotate(now: number): void {
    const elapsed = now - this.headStart;
    if (elapsed < this.bucketMs) return;
    const steps = Math.floor(elapsed / this.bucketMs);
    const width = this.width;
    const clear = Math.min(steps, this.buckets);
    for (let s = 1; s <= clear; s++) {
      const b = (this.head + s) % this.buckets;
      this.counts.fill(0, b * width, b * width + width);
    }
    this.head = (this.head + steps) % this.buckets;
    this.headStart += steps * this.bucketMs;
  }

  add(key: K, now: number, n = 1): void {
    this.rotate(now);
    this.counts[this.head * this.width + this.index[key]]! += n;
  }

  sum(key: K, now: number): number {
    this.rotate(now);
    const width = this.width;
    const k = this.index[key];
    let total = 0;
    for (let b = 0; b < this.buckets; b++) total += this.counts[b * width + k]!;
    return total;
  }

  reset(now: number): void {
    this.counts.fill(0);
    this.head = 0;
    this.headStart = this.bucketStart(now);
  }
}
