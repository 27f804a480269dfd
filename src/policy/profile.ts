import { z } from 'zod/v4';
import type { FailureKind } from '../failure/failure.js';
import { FAILURE_KINDS } from '../failure/failure.js';

const ms = z.number().finite().nonnegative();
const positiveMs = z.number().finite().positive();

const backoffSchema = z.strictObject({
  kind: z.enum(['exponential', 'decorrelated', 'constant']),
  initialMs: ms,
  maxMs: ms,
  multiplier: z.number().finite().min(1),
  jitter: z.enum(['full', 'none']),
});

const budgetSchema = z.strictObject({
  ratio: z.number().finite().min(0).max(10),
  minPerSecond: z.number().finite().nonnegative(),
  windowMs: positiveMs,
});

const breakerSchema = z.strictObject({
  mode: z.enum(['consecutive', 'window']),
  consecutiveFailures: z.int().min(1),
  failureRatio: z.number().gt(0).max(1),
  minimumThroughput: z.int().min(1),
  windowMs: positiveMs,
  buckets: z.int().min(1).max(1000),
  slowCallMs: positiveMs.nullable(),
  slowCallRatio: z.number().gt(0).max(1),
  openMs: positiveMs,
  openMultiplier: z.number().finite().min(1),
  maxOpenMs: positiveMs,
  halfOpenProbes: z.int().min(1),
  halfOpenMaxWaitMs: positiveMs,
  /**
   * A call that meets an open breaker waits for it to admit calls again (and
   * is woken the moment it closes) instead of failing with `circuit_open`,
   * when its deadline outlasts the open period. For callers with nothing to
   * fall back on; off by default, so that a router fails over at once.
   */
  waitWhenOpen: z.boolean().optional(),
  countKinds: z.array(z.enum(FAILURE_KINDS as [FailureKind, ...FailureKind[]])),
});

const gateSchema = z.strictObject({
  concurrency: z.int().min(1).nullable(),
  maxQueue: z.int().min(0),
  queueTimeoutMs: positiveMs.nullable(),
  rate: z.strictObject({ limit: z.int().min(1), intervalMs: positiveMs }).nullable(),
  /**
   * The longest pause a Retry-After imposes on every other caller (in this
   * process and, with a shared store, in all). Past it the dependency gets
   * calls again, like a probe: one `Retry-After: 86399` must not stop it for a
   * day. The caller that received the header decides for itself
   * (`retry.maxRetryAfterMs`).
   */
  maxCooldownMs: positiveMs,
});

export const profileSchema = z.strictObject({
  name: z.string().min(1),
  effect: z.enum(['idempotent', 'non-idempotent']),
  timeout: z.strictObject({
    /** One attempt; `null` for none (the deadline still bounds it). */
    attemptMs: positiveMs.nullable(),
    /** The whole operation, waits included; `null` for none (not recommended). */
    totalMs: positiveMs.nullable(),
    /** DNS + TCP + TLS + a free socket, for fetches made through breakwater. */
    connectMs: positiveMs.nullable(),
  }),
  retry: z.strictObject({
    maxAttempts: z.int().min(1).max(100),
    backoff: backoffSchema,
    /** A Retry-After longer than this is not waited for: the call fails as `rate_limited` at once. */
    maxRetryAfterMs: ms,
    budget: z.union([z.literal(false), budgetSchema]),
  }),
  breaker: z.union([z.literal(false), breakerSchema]),
  gate: z.union([z.literal(false), gateSchema]),
});

/** A complete, validated profile. */
export type Profile = z.infer<typeof profileSchema>;
export type BreakerProfile = Exclude<Profile['breaker'], false>;
export type GateProfile = Exclude<Profile['gate'], false>;

export type BuiltinProfileName = 'idempotent' | 'non-idempotent' | 'llm' | 'payment';

type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/** What users write: any subset of a profile, on top of a built-in (`idempotent` unless named). */
export type ProfileInput = DeepPartial<Omit<Profile, 'name'>> & {
  readonly name?: string;
  readonly extends?: BuiltinProfileName | Profile;
};

/** The health failures (docs/policies.md, circuit breaker): only these count against a breaker. */
const HEALTH_KINDS: FailureKind[] = ['timeout', 'network', 'server_error', 'overloaded', 'unknown'];

const idempotent: Profile = {
  name: 'idempotent',
  effect: 'idempotent',
  timeout: { attemptMs: 10_000, totalMs: 30_000, connectMs: 5_000 },
  retry: {
    maxAttempts: 3,
    backoff: { kind: 'exponential', initialMs: 200, maxMs: 5_000, multiplier: 2, jitter: 'full' },
    maxRetryAfterMs: 30_000,
    budget: { ratio: 0.2, minPerSecond: 5, windowMs: 10_000 },
  },
  breaker: {
    // A total outage opens it after about failureRatio × windowMs (5 s) at any rate that puts
    // minimumThroughput calls in the window (docs/policies.md, "Window breaker defaults").
    mode: 'window',
    consecutiveFailures: 5,
    failureRatio: 0.25,
    minimumThroughput: 8,
    windowMs: 20_000,
    buckets: 10,
    slowCallMs: null,
    slowCallRatio: 1,
    openMs: 5_000,
    openMultiplier: 2,
    maxOpenMs: 60_000,
    halfOpenProbes: 1,
    halfOpenMaxWaitMs: 10_000,
    countKinds: HEALTH_KINDS,
  },
  gate: { concurrency: 64, maxQueue: 256, queueTimeoutMs: 10_000, rate: null, maxCooldownMs: 60_000 },
};

export const builtinProfiles: Readonly<Record<BuiltinProfileName, Profile>> = {
  idempotent,
  'non-idempotent': { ...idempotent, name: 'non-idempotent', effect: 'non-idempotent' },
  llm: {
    name: 'llm',
    effect: 'idempotent',
    // Two providers each get a whole attempt within the total (docs/providers.md).
    timeout: { attemptMs: 30_000, totalMs: 60_000, connectMs: 10_000 },
    retry: {
      maxAttempts: 3,
      backoff: { kind: 'exponential', initialMs: 500, maxMs: 8_000, multiplier: 2, jitter: 'full' },
      maxRetryAfterMs: 60_000,
      budget: { ratio: 0.2, minPerSecond: 2, windowMs: 60_000 },
    },
    breaker: {
      ...(idempotent.breaker as BreakerProfile),
      // Opens after about 6 s of total outage at any rate from one call every 3 s (docs/policies.md).
      failureRatio: 0.1,
      minimumThroughput: 20,
      windowMs: 60_000,
      buckets: 12,
      // A revoked key or an empty account is as unusable as a dead host.
      countKinds: [...HEALTH_KINDS, 'auth'],
      openMs: 10_000,
      maxOpenMs: 120_000,
      halfOpenMaxWaitMs: 60_000,
    },
    gate: { concurrency: 16, maxQueue: 128, queueTimeoutMs: 30_000, rate: null, maxCooldownMs: 60_000 },
  },
  payment: {
    name: 'payment',
    effect: 'non-idempotent',
    timeout: { attemptMs: 15_000, totalMs: 45_000, connectMs: 5_000 },
    retry: {
      maxAttempts: 4,
      backoff: { kind: 'exponential', initialMs: 500, maxMs: 5_000, multiplier: 2, jitter: 'full' },
      maxRetryAfterMs: 20_000,
      budget: { ratio: 0.2, minPerSecond: 1, windowMs: 30_000 },
    },
    breaker: {
      ...(idempotent.breaker as BreakerProfile),
      mode: 'consecutive',
      consecutiveFailures: 5,
      windowMs: 60_000,
      openMs: 30_000,
      maxOpenMs: 300_000,
      halfOpenMaxWaitMs: 15_000,
    },
    gate: { concurrency: 8, maxQueue: 64, queueTimeoutMs: 10_000, rate: null, maxCooldownMs: 60_000 },
  },
};

export interface ProfileIssue {
  /** Dotted path of the field, e.g. `timeout.attemptMs`. */
  readonly path: string;
  readonly message: string;
}

/** An invalid or incoherent profile, with every offending field named. */
export class ProfileError extends Error {
  constructor(
    readonly profile: string,
    readonly issues: readonly ProfileIssue[],
  ) {
    super(
      `invalid profile "${profile}": ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`,
    );
    this.name = 'ProfileError';
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return (
    typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype
  );
}

function merge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const key of Object.keys(over)) {
    // An own property even for `__proto__`, so the strict schema reports it instead of it rewiring the prototype.
    Object.defineProperty(out, key, {
      value: Object.hasOwn(base, key) ? merge(base[key], over[key]) : over[key],
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** The checks Microsoft's standard resilience handler makes, and a few of our own. */
function coherence(p: Profile): ProfileIssue[] {
  const issues: ProfileIssue[] = [];
  const { attemptMs, totalMs } = p.timeout;
  if (attemptMs !== null && totalMs !== null && attemptMs > totalMs) {
    issues.push({
      path: 'timeout.attemptMs',
      message: `${attemptMs} ms exceeds timeout.totalMs (${totalMs} ms)`,
    });
  }
  const b = p.retry.backoff;
  if (b.initialMs > b.maxMs) {
    issues.push({
      path: 'retry.backoff.initialMs',
      message: `${b.initialMs} ms exceeds retry.backoff.maxMs (${b.maxMs} ms)`,
    });
  }
  if (p.breaker !== false) {
    if (p.breaker.mode === 'window' && attemptMs !== null && p.breaker.windowMs < 2 * attemptMs) {
      issues.push({
        path: 'breaker.windowMs',
        message: `${p.breaker.windowMs} ms is shorter than two attempt timeouts (${2 * attemptMs} ms): a slow failure would fall out of the window before it counts`,
      });
    }
    if (p.breaker.openMs > p.breaker.maxOpenMs) {
      issues.push({
        path: 'breaker.openMs',
        message: `${p.breaker.openMs} ms exceeds breaker.maxOpenMs (${p.breaker.maxOpenMs} ms)`,
      });
    }
  }
  return issues;
}

function zodIssues(error: z.ZodError): ProfileIssue[] {
  return error.issues.map((i) => {
    const path = i.path.map(String).join('.');
    if (i.code === 'unrecognized_keys') {
      return {
        path,
        message: `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}`,
      };
    }
    return { path, message: i.message };
  });
}

/**
 * A complete, validated profile from a built-in name, a full profile, or
 * overrides on top of a built-in. Throws `ProfileError` naming every bad field.
 */
export function resolveProfile(input: BuiltinProfileName | ProfileInput | Profile): Profile {
  if (typeof input === 'string') {
    const p = builtinProfiles[input];
    if (!p) {
      throw new ProfileError(String(input), [
        {
          path: '',
          message: `no built-in profile named "${input}" (known: ${Object.keys(builtinProfiles).join(', ')})`,
        },
      ]);
    }
    return p;
  }
  if (!isPlainObject(input)) {
    throw new ProfileError('(anonymous)', [
      { path: '', message: `expected an object or a profile name, got ${typeof input}` },
    ]);
  }
  const { extends: parent, ...overrides } = input as ProfileInput & Record<string, unknown>;
  let base: Profile;
  if (parent === undefined)
    base =
      'effect' in overrides && overrides.effect === 'non-idempotent'
        ? builtinProfiles['non-idempotent']
        : idempotent;
  else if (typeof parent === 'string') {
    const p = builtinProfiles[parent];
    if (!p) {
      throw new ProfileError(String(input.name ?? parent), [
        {
          path: 'extends',
          message: `no built-in profile named "${parent}" (known: ${Object.keys(builtinProfiles).join(', ')})`,
        },
      ]);
    }
    base = p;
  } else base = parent;
  const merged = merge(base, overrides) as Record<string, unknown>;
  if (overrides.name === undefined) merged.name = `${base.name}*`;
  const name = typeof merged.name === 'string' ? merged.name : '(anonymous)';
  const parsed = profileSchema.safeParse(merged);
  if (!parsed.success) throw new ProfileError(name, zodIssues(parsed.error));
  const incoherent = coherence(parsed.data);
  if (incoherent.length > 0) throw new ProfileError(name, incoherent);
  return parsed.data;
}
