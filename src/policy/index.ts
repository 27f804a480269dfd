export { type BackoffOptions, backoffDelay } from './backoff.js';
export {
  type BreakerOptions,
  type BreakerPermit,
  type BreakerSnapshot,
  type BreakerState,
  type BreakerTransition,
  CircuitBreaker,
} from './breaker.js';
export {
  type ChaosFault,
  type ChaosInjection,
  type ChaosLatency,
  type ChaosOptions,
  type ChaosOutcome,
  type ChaosStrategy,
  chaosActive,
} from './chaos.js';
export { type Clock, type Random, systemClock, type TimerHandle } from './clock.js';
export { decideRetry, type Effect, type RetryVerdict } from './decision.js';
export type {
  AttemptInfo,
  AttemptOutcome,
  GroupHedgeEvent,
  OperationInfo,
  PolicyEvent,
  PolicyObserver,
} from './events.js';
export type { Fallback, FallbackContext, FallbackRun, FallbackValue } from './fallback.js';
export { Gate, type GateEnterOptions, type GateOptions, type GateOutcome } from './gate.js';
export {
  type Admission,
  DEFAULT_MAX_COOLDOWN_MS,
  type Health,
  type HealthPermit,
  type HealthSource,
  type HealthVerdict,
  isHealthSource,
} from './health.js';
export {
  createHedger,
  HEDGE_DEFAULTS,
  type HedgeEvent,
  HedgeLostError,
  type HedgeObserver,
  type HedgeOptions,
  type HedgeRunOptions,
  type Hedger,
  type HedgerDeps,
  type HedgeStats,
  type HedgeTask,
  type ResolvedHedgeOptions,
  resolveHedgeOptions,
} from './hedge.js';
export { LatencyTracker } from './latency-tracker.js';
export { LocalHealth } from './local-health.js';
export {
  type AttemptContext,
  createPolicy,
  type Policy,
  type PolicyOptions,
  type Reconciliation,
  type RetryInfo,
  type RunOptions,
} from './pipeline.js';
export {
  type BreakerProfile,
  type BuiltinProfileName,
  builtinProfiles,
  type GateProfile,
  type Profile,
  ProfileError,
  type ProfileInput,
  type ProfileIssue,
  profileSchema,
  resolveProfile,
} from './profile.js';
export type { Reconcile } from './reconcile.js';
export type { FailOnResult, ResultFailure, ResultFailureKind } from './result-failure.js';
export { RetryBudget, type RetryBudgetOptions } from './retry-budget.js';
export { sleep } from './sleep.js';
export { createVirtualClock, type VirtualClock } from './virtual-clock.js';
