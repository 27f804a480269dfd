/**
 * The invariants of the promises (README.md), checked on every schedule:
 *
 * - every operation ends exactly once, as a value, a definite failure or
 *   outcome unknown, with a typed error (never anything else thrown);
 * - a non-idempotent operation takes effect at most once at the fake, a value
 *   means it took effect, and an operation only ever told "failed" took none;
 * - no operation ends later than its deadline (plus `DEADLINE_TOLERANCE_MS`);
 * - no call reaches a dependency whose breaker is open;
 * - no unhandled rejection.
 */
import { isBreakwaterError } from '../../src/failure/errors.js';
import type { BreakerState } from '../../src/policy/breaker.js';
import type { Clock } from '../../src/policy/clock.js';
import { DEADLINE_TOLERANCE_MS } from './config.js';

/** What the caller (or the model) was told. */
export type Told = 'value' | 'failed' | 'unknown';

export interface Ending {
  readonly label: string;
  readonly told: Told;
  readonly at: number;
  readonly detail: string;
}

export class Referee {
  readonly violations: string[] = [];
  /** Endings per logical operation (a call delivered twice has two). */
  readonly endings = new Map<string, Ending[]>();
  /** Calls that reached each dependency. */
  readonly reached = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    /** Debugging aid: every ending as it happens. */
    private readonly trace?: (line: string) => void,
  ) {}

  violation(message: string): void {
    if (this.violations.length < 50) this.violations.push(message);
  }

  /** A call arrives at `dependency`: its breaker must not be open. */
  reach(dependency: string, state: BreakerState | undefined): void {
    this.reached.set(dependency, (this.reached.get(dependency) ?? 0) + 1);
    if (state === 'open' || state === 'isolated')
      this.violation(`a call reached ${dependency} while its breaker was ${state}`);
  }

  /**
   * Watches one delivery of an operation: it must settle, once, by its
   * deadline; `tell` turns how it settled into what the caller was told, or
   * a violation message when that is not one of the three endings.
   */
  async watch<T>(
    op: string,
    label: string,
    deadlineAt: number | undefined,
    run: () => Promise<T>,
    tell: (settled: { ok: true; value: T } | { ok: false; error: unknown }) => Told | string,
  ): Promise<void> {
    let settled: { ok: true; value: T } | { ok: false; error: unknown };
    let count = 0;
    try {
      const value = await run();
      count++;
      settled = { ok: true, value };
    } catch (error) {
      count++;
      settled = { ok: false, error };
    }
    const at = this.clock.now();
    if (count !== 1) this.violation(`${label}: ended ${count} times`);
    if (deadlineAt !== undefined && at > deadlineAt + DEADLINE_TOLERANCE_MS)
      this.violation(`${label}: ended at ${at}, ${at - deadlineAt} ms after its deadline ${deadlineAt}`);
    const told = tell(settled);
    if (told !== 'value' && told !== 'failed' && told !== 'unknown') {
      this.violation(`${label}: ${told}`);
      return;
    }
    const detail = settled.ok
      ? 'value'
      : isBreakwaterError(settled.error)
        ? `${settled.error.code}/${settled.error.failure.kind}/${settled.error.failure.delivery}`
        : String(settled.error);
    this.trace?.(`${at} ${label} ended ${told} (${detail})`);
    const list = this.endings.get(op) ?? [];
    list.push({ label, told, at, detail });
    this.endings.set(op, list);
  }

  /**
   * At-most-once and "say what happened" for a non-idempotent operation,
   * once every request it caused has been answered or abandoned.
   */
  effects(op: string, effects: number): void {
    const endings = this.endings.get(op) ?? [];
    const summary = `${endings.map((e) => `${e.label}=${e.told}(${e.detail})`).join(', ')}`;
    if (effects > 1) this.violation(`${op}: took effect ${effects} times [${summary}]`);
    if (endings.some((e) => e.told === 'value') && effects !== 1)
      this.violation(`${op}: a caller got a value but it took effect ${effects} times [${summary}]`);
    if (endings.length > 0 && endings.every((e) => e.told === 'failed') && effects !== 0)
      this.violation(`${op}: every caller was told it failed, yet it took effect [${summary}]`);
  }
}

/** How a typed error reads to its caller: a definite failure or outcome unknown. */
export function toldByError(error: unknown, mayHaveActed: boolean): Told | string {
  if (!isBreakwaterError(error)) return `threw something other than a typed error: ${String(error)}`;
  return error.outcome === 'unknown' || mayHaveActed ? 'unknown' : 'failed';
}
