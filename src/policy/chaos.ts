import { DependencyFailedError, type InputIssue } from '../failure/errors.js';
import { DELIVERIES, type Delivery, type Failure } from '../failure/failure.js';
import type { AttemptContext } from './attempt.js';
import type { Clock, Random } from './clock.js';
import type { PolicyEvent } from './events.js';
import { isResultFailureKind, RESULT_FAILURE_KINDS, type ResultFailureKind } from './result-failure.js';
import { sleep } from './sleep.js';

/** Delay the call by `ms` (Polly's chaos latency). */
export interface ChaosLatency {
  /** The share of attempts delayed, from 0 to 1. */
  readonly rate: number;
  readonly ms: number;
}

/**
 * Fail the attempt without calling the dependency (Polly's chaos fault),
 * with exactly this failure, as if it had been classified from a real error:
 * its `delivery` decides, as a real one's does, whether a payment is retried
 * (`not_sent`), reconciled or reported as outcome unknown (`unknown`).
 */
export interface ChaosFault {
  readonly rate: number;
  readonly kind: ResultFailureKind;
  readonly delivery: Delivery;
  readonly status?: number;
  readonly retryAfterMs?: number;
}

/** Answer with `value()` without calling the dependency (Polly's chaos outcome): a result predicate then judges it. */
export interface ChaosOutcome {
  readonly rate: number;
  /** An answer the call could really give (an empty completion, a 200 without an image). */
  readonly value: () => unknown;
}

/**
 * Chaos strategies for staging (Polly's Simmy): latency, fault and outcome
 * injection, innermost in the policy, each at its rate. Off unless BOTH
 * `enabled: true` here AND `BREAKWATER_CHAOS=1` in the environment, and
 * never where `NODE_ENV=production` unless `inProduction: true` is also set.
 * Inactive, the stage is not built: no random number is drawn, no event sent.
 */
export interface ChaosOptions {
  readonly enabled: boolean;
  /** A third, deliberate switch for `NODE_ENV=production`. Default false. */
  readonly inProduction?: boolean;
  /** Read once, when the policy is created. Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Decides each injection; seed it to replay a run. Default: the policy's `random`. */
  readonly random?: Random;
  readonly latency?: ChaosLatency;
  readonly fault?: ChaosFault;
  readonly outcome?: ChaosOutcome;
}

export type ChaosStrategy = 'latency' | 'fault' | 'outcome';

/** An injection, as the observers hear it (span event `breakwater.chaos`). */
export interface ChaosInjection {
  readonly type: 'chaos_injected';
  readonly dependency: string;
  readonly attempt: number;
  readonly strategy: ChaosStrategy;
  /** The injected failure (`fault`). */
  readonly failure?: Failure;
  /** The injected delay (`latency`). */
  readonly delayMs?: number;
}

const CHAOS_KEYS = new Set(['enabled', 'inProduction', 'env', 'random', 'latency', 'fault', 'outcome']);

function rateIssue(rate: unknown, path: string): InputIssue[] {
  return typeof rate === 'number' && rate >= 0 && rate <= 1
    ? []
    : [{ path: `${path}.rate`, message: `must be a number from 0 to 1, got ${String(rate)}` }];
}

/** Every problem with chaos options, each naming its field under `path`. Checked whether or not chaos is on. */
export function chaosIssues(chaos: unknown, path = 'chaos'): InputIssue[] {
  if (typeof chaos !== 'object' || chaos === null) return [{ path, message: 'must be an object' }];
  const c = chaos as Record<string, unknown>;
  const issues: InputIssue[] = [];
  for (const k of Object.keys(c))
    if (!CHAOS_KEYS.has(k)) issues.push({ path: `${path}.${k}`, message: 'is not a chaos option' });
  if (typeof c.enabled !== 'boolean') issues.push({ path: `${path}.enabled`, message: 'must be a boolean' });
  if (c.inProduction !== undefined && typeof c.inProduction !== 'boolean')
    issues.push({ path: `${path}.inProduction`, message: 'must be a boolean' });
  if (c.random !== undefined && typeof c.random !== 'function')
    issues.push({ path: `${path}.random`, message: 'must be a function' });
  if (c.env !== undefined && (typeof c.env !== 'object' || c.env === null))
    issues.push({ path: `${path}.env`, message: 'must be an object' });
  const part = (name: string): Record<string, unknown> | undefined => {
    const v = c[name];
    if (v === undefined) return undefined;
    if (typeof v === 'object' && v !== null) return v as Record<string, unknown>;
    issues.push({ path: `${path}.${name}`, message: 'must be an object' });
    return undefined;
  };
  const latency = part('latency');
  if (latency) {
    issues.push(...rateIssue(latency.rate, `${path}.latency`));
    const ms = latency.ms;
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0)
      issues.push({
        path: `${path}.latency.ms`,
        message: `must be a finite, non-negative number of milliseconds, got ${String(ms)}`,
      });
  }
  const fault = part('fault');
  if (fault) {
    issues.push(...rateIssue(fault.rate, `${path}.fault`));
    if (!isResultFailureKind(fault.kind))
      issues.push({
        path: `${path}.fault.kind`,
        message: `must be one of ${RESULT_FAILURE_KINDS.join(', ')}`,
      });
    if (!DELIVERIES.includes(fault.delivery as Delivery))
      issues.push({ path: `${path}.fault.delivery`, message: `must be one of ${DELIVERIES.join(', ')}` });
    const status = fault.status;
    if (
      status !== undefined &&
      (!Number.isInteger(status) || (status as number) < 100 || (status as number) > 599)
    )
      issues.push({ path: `${path}.fault.status`, message: 'must be an HTTP status from 100 to 599' });
    const after = fault.retryAfterMs;
    if (after !== undefined && (typeof after !== 'number' || !Number.isFinite(after) || after < 0))
      issues.push({ path: `${path}.fault.retryAfterMs`, message: 'must be a finite, non-negative number' });
  }
  const outcome = part('outcome');
  if (outcome) {
    issues.push(...rateIssue(outcome.rate, `${path}.outcome`));
    if (typeof outcome.value !== 'function')
      issues.push({ path: `${path}.outcome.value`, message: 'must be a function returning the answer' });
  }
  return issues;
}

/** Reported once per process: chaos asked for where NODE_ENV=production, and refused. */
let refusalReported = false;

/** The rule, in one place: the option, the environment variable, and production's own switch. */
export function chaosActive(chaos: ChaosOptions): boolean {
  if (chaos.enabled !== true) return false;
  // A runtime without `process` (an edge worker) has no variable set: chaos stays off there.
  const env = chaos.env ?? (typeof process === 'undefined' ? {} : process.env);
  if (env.BREAKWATER_CHAOS !== '1') return false;
  // Any case, any padding: "Production" or "production\n" from a .env file is production all the same, and the
  // refusal must not hinge on how the value was typed (the safe side of a doubt is "no chaos").
  const production = env.NODE_ENV?.trim().toLowerCase() === 'production';
  if (production && chaos.inProduction !== true) {
    if (!refusalReported && typeof process !== 'undefined') {
      refusalReported = true;
      process.emitWarning(
        'chaos is enabled and BREAKWATER_CHAOS=1, but NODE_ENV=production: nothing is injected (set chaos.inProduction to mean it)',
        { code: 'BREAKWATER_CHAOS_REFUSED' },
      );
    }
    return false;
  }
  return true;
}

/** Wraps a call in the chaos stage. */
export type ChaosStage = <T>(
  fn: (ctx: AttemptContext) => Promise<T> | T,
) => (ctx: AttemptContext) => Promise<T>;

export interface ChaosParts {
  readonly dependency: string;
  readonly clock: Clock;
  readonly random: Random;
  readonly emit: (e: PolicyEvent) => void;
}

function injectedFailure(f: ChaosFault): Failure {
  return {
    kind: f.kind,
    delivery: f.delivery,
    code: 'chaos_injected',
    message: `injected by chaos: ${f.kind}, ${f.delivery}`,
    cause: undefined,
    ...(f.status !== undefined ? { status: f.status } : {}),
    ...(f.retryAfterMs !== undefined ? { retryAfterMs: f.retryAfterMs } : {}),
  };
}

/**
 * The chaos stage, or undefined when chaos is off (then nothing at all runs
 * per call). Order, outermost first: latency, fault, outcome; each draws one
 * number per attempt that reaches it.
 */
export function createChaosStage(chaos: ChaosOptions | undefined, parts: ChaosParts): ChaosStage | undefined {
  if (chaos === undefined) return undefined;
  const issues = chaosIssues(chaos);
  if (issues.length > 0)
    throw new RangeError(`invalid chaos options: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  if (!chaosActive(chaos)) return undefined;
  const random = chaos.random ?? parts.random;
  const { latency, fault, outcome } = chaos;
  const { dependency, emit } = parts;
  const drawn = (rate: number) => rate > 0 && random() < rate;
  return <T>(fn: (ctx: AttemptContext) => Promise<T> | T) =>
    async (ctx: AttemptContext): Promise<T> => {
      if (latency !== undefined && drawn(latency.rate)) {
        emit({
          type: 'chaos_injected',
          dependency,
          attempt: ctx.attempt,
          strategy: 'latency',
          delayMs: latency.ms,
        });
        // On the policy's clock, and cut short by the attempt's signal: an attempt timeout fires as it would for a slow dependency.
        await sleep(parts.clock, latency.ms, ctx.signal);
      }
      if (fault !== undefined && drawn(fault.rate)) {
        const failure = injectedFailure(fault);
        emit({ type: 'chaos_injected', dependency, attempt: ctx.attempt, strategy: 'fault', failure });
        // Thrown as a breakwater error, it is classified as exactly this failure.
        throw new DependencyFailedError({ failure, dependency });
      }
      if (outcome !== undefined && drawn(outcome.rate)) {
        emit({ type: 'chaos_injected', dependency, attempt: ctx.attempt, strategy: 'outcome' });
        return outcome.value() as T;
      }
      return fn(ctx);
    };
}
