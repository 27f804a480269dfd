/**
 * The concurrency limit and its bounded waiting room. Slots are counted, not
 * handed out: a free slot is taken synchronously (the happy path costs a
 * comparison). Callers that must wait stand in a FIFO whose size is bounded;
 * one that gives up leaves it at once, from anywhere in the line (a `Set`
 * keeps insertion order and removes in O(1)).
 */
export class Concurrency<W> {
  private active = 0;
  private readonly line = new Set<W>();

  constructor(
    /** Calls in flight at once; `null` for no limit. */
    readonly limit: number | null,
    /** Callers allowed to wait; beyond it a caller is turned away. */
    readonly maxQueue: number,
  ) {}

  /** Calls holding a slot. */
  get inFlight(): number {
    return this.active;
  }

  /** Callers waiting in line. */
  get waiting(): number {
    return this.line.size;
  }

  /** Whether a slot is free (whoever is in line). */
  hasFreeSlot(): boolean {
    return this.limit === null || this.active < this.limit;
  }

  /** Whether the line has room for one more. */
  hasRoom(): boolean {
    return this.line.size < this.maxQueue;
  }

  take(): void {
    this.active++;
  }

  give(): void {
    this.active--;
  }

  /** The first in line, if any. */
  head(): W | undefined {
    // No iterator for an empty line: every call's `leave` asks.
    if (this.line.size === 0) return undefined;
    for (const w of this.line) return w;
    return undefined;
  }

  /** Adds `waiter` at the end of the line; call it only after `hasRoom` said yes. */
  join(waiter: W): void {
    this.line.add(waiter);
  }

  /** Takes `waiter` out of the line, wherever it stands; false if it was not there. */
  leaveLine(waiter: W): boolean {
    return this.line.delete(waiter);
  }

  /** The waiters in line order, with their position (0 at the head). */
  *inLine(): IterableIterator<[W, number]> {
    let i = 0;
    for (const w of this.line) yield [w, i++];
  }
}
