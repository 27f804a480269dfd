import type { Clock, TimerHandle } from './clock.js';

export interface TimerEntry {
  due: number;
  fire: () => void;
  prev: TimerEntry | undefined;
  next: TimerEntry | undefined;
  queued: boolean;
}

export function timerEntry(fire: () => void): TimerEntry {
  return { due: 0, fire, prev: undefined, next: undefined, queued: false };
}

/**
 * Attempt timeouts of one policy, on a single clock timer. Node's
 * setTimeout + clearTimeout costs about 400 ns for a ref'd timer, most of the
 * happy path's budget; linking an entry into a list ordered by due time costs
 * a few. Entries of one policy share a duration, so they arrive nearly in
 * order and insertion is O(1) from the tail.
 *
 * While the list is empty the underlying timer is unref'd rather than
 * cleared, so it never holds the process, yet the next call does not pay to
 * create a new one.
 */
export class TimerQueue {
  private head: TimerEntry | undefined;
  private tail: TimerEntry | undefined;
  private handle: TimerHandle | undefined;
  private scheduledAt = Number.POSITIVE_INFINITY;
  private held = false;

  constructor(private readonly clock: Clock) {}

  add(entry: TimerEntry, delayMs: number, now: number): void {
    entry.due = now + delayMs;
    entry.queued = true;
    let after = this.tail;
    while (after !== undefined && after.due > entry.due) after = after.prev;
    entry.prev = after;
    entry.next = after ? after.next : this.head;
    if (entry.next) entry.next.prev = entry;
    else this.tail = entry;
    if (after) after.next = entry;
    else this.head = entry;

    if (this.handle === undefined || entry.due < this.scheduledAt) this.schedule(entry.due, now);
    else if (!this.held) this.hold(true);
  }

  remove(entry: TimerEntry): void {
    if (!entry.queued) return;
    entry.queued = false;
    if (entry.prev) entry.prev.next = entry.next;
    else this.head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.tail = entry.prev;
    entry.prev = entry.next = undefined;
    if (this.head === undefined && this.held) this.hold(false);
  }

  private hold(on: boolean): void {
    this.held = on;
    if (on) this.clock.ref?.(this.handle);
    else this.clock.unref?.(this.handle);
  }

  private schedule(due: number, now: number): void {
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle);
    this.scheduledAt = due;
    this.handle = this.clock.setTimeout(() => this.fire(), Math.max(0, due - now));
    this.held = true;
  }

  private fire(): void {
    this.handle = undefined;
    // The spent timer holds nothing: emptying the list below must not unref a handle that is gone.
    this.held = false;
    this.scheduledAt = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    while (this.head !== undefined && this.head.due <= now) {
      const e = this.head;
      this.remove(e);
      e.fire();
    }
    if (this.head !== undefined) this.schedule(this.head.due, now);
  }
}
