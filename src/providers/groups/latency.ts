/**
 * A decaying average of one deployment's time to first token (for a chat,
 * to the answer): each sample moves it `weight` of the way, so a deployment
 * that slows down is noticed within a few calls and old samples fade.
 */
export class DecayingAverage {
  private value: number | undefined;

  constructor(private readonly weight = 0.3) {
    if (!(weight > 0 && weight <= 1))
      throw new RangeError(`weight: expected a number in (0, 1], got ${weight}`);
  }

  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.value = this.value === undefined ? ms : this.value + this.weight * (ms - this.value);
  }

  /** Undefined before the first sample. */
  get ms(): number | undefined {
    return this.value;
  }
}
