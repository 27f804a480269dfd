import {
  type BreakwaterError,
  CancelledError,
  DependencyFailedError,
  isBreakwaterError,
  RateLimitedError,
} from '../failure/errors.js';
import type { Failure } from '../failure/failure.js';
import { type Clock, type Random, systemClock } from '../policy/clock.js';
import type { GroupHedgeEvent, PolicyObserver } from '../policy/events.js';
import { refuseIfOpened } from '../policy/failures.js';
import { type HedgeEvent, HedgeLostError } from '../policy/hedge.js';
import { Observers } from '../policy/observers.js';
import { type AttemptContext, createPolicy, type Policy } from '../policy/pipeline.js';
import {
  type BuiltinProfileName,
  type Profile,
  type ProfileInput,
  resolveProfile,
} from '../policy/profile.js';
import { isSharedHealthSource } from '../policy/shared.js';
import type { StateStore } from '../state/store.js';
import { BW, EVENT } from '../telemetry/semconv.js';
import type { ChatResult, OperationScope, Telemetry } from '../telemetry/telemetry.js';
import { AllProvidersFailedError, type ProviderFailure } from './errors.js';
import type { DeploymentRuntime } from './groups/deployment.js';
import { contentStopped, exhaustedClass, fallbackTarget, type GroupFailure } from './groups/fallbacks.js';
import { type ResolvedGroup, resolveGroups } from './groups/options.js';
import { type DeploymentView, pickNext } from './groups/strategies.js';
import type { FallbackClass, ModelGroup, SkipReason } from './groups/types.js';
import {
  estimateEmbedTokens,
  estimateTokens,
  type QuotaReservation,
  readRateLimitHeaders,
} from './quota/index.js';
import { checkRequestShape } from './request-shape.js';
import { isBusy, isContextWindow, Refusals, type RouteVerdict, routeVerdict } from './routing.js';
import { type OpenedStream, streamAttempt } from './stream-attempt.js';
import { readOpened } from './stream-reader.js';
import { resolveStreamTimeouts, type StreamTimeouts } from './stream-timeouts.js';
import { invalid, normalizeToolDefinition } from './tools.js';
import type {
  ChatChunk,
  ChatRequest,
  ChatResponse,
  EmbedRequest,
  EmbedResponse,
  Provider,
  ProviderCallOptions,
} from './types.js';

/** What a `chat {model}` span records of an answer, a chat's or a whole stream's (an `embeddings {model}` span: an embed's). */
function describeChat(value: unknown): ChatResult | undefined {
  const e = value as Partial<EmbedResponse> | undefined;
  if (e && typeof e.model === 'string' && Array.isArray(e.embeddings))
    return { responseModel: e.model, ...(e.usage ? { inputTokens: e.usage.inputTokens } : {}) };
  const r = value as Partial<ChatResponse> | undefined;
  if (!r || typeof r.model !== 'string' || r.message === undefined) return undefined;
  return {
    responseModel: r.model,
    ...(r.id !== undefined ? { responseId: r.id } : {}),
    ...(r.finishReason ? { finishReasons: [r.finishReason] } : {}),
    ...(r.usage ? { inputTokens: r.usage.inputTokens, outputTokens: r.usage.outputTokens } : {}),
    output: r.message,
  };
}

export interface RouterOptions {
  /**
   * Tried in this order: the v1 form, the same as one group `default` with
   * the `ordered` strategy that retries on a provider before moving on
   * (`retryOn: 'same'`). Give either `providers` or `groups`.
   */
  readonly providers?: readonly Provider[] | undefined;
  /** Named groups of deployments (docs/providers.md, "Groups and deployments"). */
  readonly groups?: { readonly [name: string]: ModelGroup } | undefined;
  /** The group a call that names none goes to. Default: `default` if there is one, else the first. */
  readonly defaultGroup?: string | undefined;
  /** How many times one call may move from a group to its fallback group. Default 2. */
  readonly maxHops?: number | undefined;
  /** Every provider's policy, unless the provider names its own. Default `llm`. */
  readonly profile?: BuiltinProfileName | ProfileInput | Profile | undefined;
  /**
   * Where provider health lives. A store that shares health across processes
   * (`createRedisStore`) shares each deployment's breaker, 429 cooldown and
   * retry budget (keyed by its id) with every worker; the in-process store
   * changes nothing here.
   */
  readonly store?: StateStore | undefined;
  readonly clock?: Clock | undefined;
  /** Also draws the `weighted` strategy's picks and breaks ties between equal deployments. */
  readonly random?: Random | undefined;
  /**
   * Watches every deployment's policy (retries, breaker, rejections…) and
   * each group's hedging (`hedge_sent`, `hedge_won`, `hedge_skipped`).
   */
  readonly observer?: PolicyObserver | undefined;
  /**
   * Each call becomes a `breakwater.route` span, each provider attempt a
   * `chat {model}` span with the GenAI attributes, each failover an event.
   * `observer`, when given too, watches beside telemetry.
   */
  readonly telemetry?: Telemetry | undefined;
  /**
   * How much of the time left each deployment may use before the next one is
   * tried. `equal` (the default): the time left split evenly between the
   * deployments of the group not yet tried, so one that hangs leaves the rest
   * theirs; what one does not use passes on. `all`: each may use all of it.
   */
  readonly deadlineShare?: 'equal' | 'all' | undefined;
  /**
   * With another deployment left to try, one that answers 429 or 529 is
   * left at once, not waited for (its Retry-After or backoff), and one cooling
   * down after a 429 is skipped. `true` waits as its profile allows. Default false.
   */
  readonly waitForRetryAfter?: boolean | undefined;
  /**
   * How long a deployment that refused the account or model (a bad key, no
   * credit, an unknown model) is skipped before one request tries it again.
   * Default 60 000 ms.
   */
  readonly refusalMs?: number | undefined;
  /** A first-chunk timeout and an idle timeout between chunks for `stream` (see `StreamTimeouts`). */
  readonly stream?: StreamTimeouts | undefined;
}

/** The options of `router.embed`: a chat's, less what only a chat has. */
export type EmbedCallOptions = RouterCallOptions;

export interface RouterCallOptions {
  /** Aborting it cancels the request in flight; no other provider is tried. */
  readonly signal?: AbortSignal | undefined;
  /** Time for the whole call, every provider and wait included. Default: the profile's `timeout.totalMs`. */
  readonly deadlineMs?: number | undefined;
  /** Overrides the router's `waitForRetryAfter` for this call. */
  readonly waitForRetryAfter?: boolean | undefined;
  /** The model group to ask. Default: the router's `defaultGroup`. */
  readonly group?: string | undefined;
}

/** One deployment and the policy in front of it (its breaker, gate and cooldown). */
export interface Route {
  /** The deployment's id: the key of its health, and `ChatResponse.deployment`. */
  readonly id: string;
  readonly provider: Provider;
  readonly policy: Policy;
}

export interface Router {
  /** One per deployment, in declaration order (each once, however many groups list it). */
  readonly routes: readonly Route[];
  /** The first healthy provider's answer. Throws the caller's own errors at once, else `AllProvidersFailedError`. */
  chat(request: ChatRequest, options?: RouterCallOptions): Promise<ChatResponse>;
  /**
   * The first healthy provider's answer as it is generated. Retries and
   * failover happen only until the first chunk is handed over; a failure after
   * that ends the stream with `StreamInterruptedError`, which holds what came.
   */
  stream(request: ChatRequest, options?: RouterCallOptions): AsyncGenerator<ChatChunk, void, undefined>;
  /**
   * Embeddings from the first healthy deployment of the group that can embed
   * (its provider has `embed`), through the same strategies, health, retries,
   * quota and `unavailable` fallback as `chat`; the others are skipped
   * (`unsupported`). Throws `InvalidInputError` at once when the group has
   * no deployment that can embed. docs/providers.md, "Embeddings".
   */
  embed(request: EmbedRequest, options?: EmbedCallOptions): Promise<EmbedResponse>;
}

/** A deployment cooling down after a 429, skipped because another can answer now. */
function coolingDown(d: DeploymentRuntime, ms: number): BreakwaterError {
  return new RateLimitedError({
    failure: {
      kind: 'rate_limited',
      delivery: 'not_sent',
      retryAfterMs: ms,
      message: `cooling down for another ${Math.ceil(ms)} ms after a 429; another provider can answer now`,
      cause: undefined,
    },
    dependency: d.id,
  });
}

/** The losing stream of a hedged call, closed after its first chunk: a cancel, no fault of the deployment's. */
function hedgeLost(dependency: string): BreakwaterError {
  return new CancelledError({
    failure: {
      kind: 'cancelled',
      delivery: 'processed',
      code: 'hedge_lost',
      message: 'another deployment of the hedged call answered first',
      cause: undefined,
    },
    dependency,
  });
}

/** A deployment whose quota would hold the request, skipped because another has room now. */
function noQuota(d: DeploymentRuntime, ms: number): BreakwaterError {
  // Never fits (the estimate exceeds the whole limit): no wait to name. `retryAfterMs: Infinity` would
  // reach `AllProvidersFailedError.retryAfterMs`, and a caller's `setTimeout(retry, Infinity)` fires in 1 ms.
  if (!Number.isFinite(ms))
    return new RateLimitedError({
      failure: {
        kind: 'rate_limited',
        delivery: 'not_sent',
        code: 'quota_exceeds_limit',
        shouldRetry: false,
        message:
          "the request's estimate exceeds this deployment's whole limit; another deployment has room now",
        cause: undefined,
      },
      dependency: d.id,
    });
  return new RateLimitedError({
    failure: {
      kind: 'rate_limited',
      delivery: 'not_sent',
      retryAfterMs: ms,
      code: 'no_quota',
      message: `no quota left for another ${Math.ceil(ms)} ms; another deployment has room now`,
      cause: undefined,
    },
    dependency: d.id,
  });
}

/** A deployment whose provider cannot do what the call asks (an embed on Anthropic). No request was sent. */
function unsupported(d: DeploymentRuntime): BreakwaterError {
  return new DependencyFailedError({
    failure: {
      kind: 'client_error',
      delivery: 'not_sent',
      code: 'unsupported',
      message: `${d.provider.name}/${d.provider.model} cannot embed (its provider has no embed)`,
      cause: undefined,
    },
    dependency: d.id,
  });
}

/** What a failure means for an embed: a prompt too long or a content policy is the caller's; no group would take it. */
function embedVerdict(f: Failure): RouteVerdict {
  const v = routeVerdict(f);
  return v === 'content_policy' || (v === 'next' && isContextWindow(f)) ? 'caller' : v;
}

/** The pre-check: the request's estimate does not fit this deployment's window. No request was sent. */
function tooSmall(d: DeploymentRuntime, estimate: number): BreakwaterError {
  return new DependencyFailedError({
    failure: {
      kind: 'client_error',
      delivery: 'not_sent',
      code: 'context_length_exceeded',
      message: `an estimated ${estimate} tokens do not fit the context window of ${d.contextWindow}`,
      cause: undefined,
    },
    dependency: d.id,
  });
}

/**
 * An attempt given up on (a timeout, a lost hedge, an abort) took at least `ms` without answering: a
 * lower bound of its latency. It may raise the deployment's average, never lower it, so that
 * `lowest-latency` stops sending every call first to a deployment that stopped answering (it would
 * otherwise keep the last answer's figure, or count as never measured, and so fastest, forever).
 */
function slower(d: DeploymentRuntime, ms: number): void {
  if (ms > (d.latency.ms ?? 0)) d.latency.record(ms);
}

/** `ms` from `now`, cut at `deadlineAt`. */
function within(ms: number | undefined, deadlineAt: number | undefined, now: number): number | undefined {
  if (deadlineAt === undefined) return ms;
  const left = Math.max(0, deadlineAt - now);
  return ms === undefined ? left : Math.min(ms, left);
}

function positive(ms: number, field: string): number {
  if (!Number.isFinite(ms) || ms <= 0)
    throw new RangeError(`${field}: expected a positive number of milliseconds, got ${ms}`);
  return ms;
}

/** How a routed call runs on one deployment: the share of the deadline it may use, and when to stop failing over. */
interface RouteMode<T> {
  /**
   * `call`: the share bounds the whole policy run (a chat). `first-chunk`: the
   * share bounds the wait for the first chunk, and the rest of the deadline
   * the stream (`fn` enforces the first).
   */
  readonly share: 'call' | 'first-chunk';
  /** True once the caller holds part of an answer: no retry and no failover after that. */
  readonly committed?: () => boolean;
  /** An answer the content policy stopped: with a `contentPolicy` fallback, the call moves on. */
  readonly stopped?: (value: T) => boolean;
  /**
   * An embeddings call: only deployments whose provider has `embed` are
   * tried (the rest skipped as `unsupported`); no context-window pre-check
   * and no hedging; a content-policy or context-window error is the caller's
   * (thrown at once), so only the `unavailable` fallback applies.
   */
  readonly embed?: true;
}

/** One attempt on a deployment; `answered()` marks its first token (for a chat, its answer). */
type AttemptFn<T> = (
  d: DeploymentRuntime,
  ctx: AttemptContext,
  shareEndsAt: number | undefined,
  answered: () => void,
  /** The response's headers, success or HTTP error: the deployment's quota reads its rate limits there. */
  onHeaders: (headers: Headers) => void,
  group: ResolvedGroup,
) => Promise<T>;

interface Served<T> {
  readonly route: DeploymentRuntime;
  readonly value: T;
  readonly group: string;
}

type GroupOutcome<T> =
  | ({ readonly served: true } & Served<T>)
  | {
      readonly served: false;
      readonly cls: FallbackClass;
      /** The failure that ended the group (for the fallback event's reason). */
      readonly reason: string;
      /** A content-policy error, thrown as the caller's when no fallback takes it. */
      readonly error?: BreakwaterError;
    };

function totalTokens(value: unknown): number | undefined {
  const usage = (value as Partial<ChatResponse> | undefined)?.usage;
  return usage?.totalTokens;
}

/**
 * A router over groups of deployments: each deployment behind its own policy
 * (retries, breaker, gate with Retry-After cooldown); each group picks among
 * its healthy deployments by its strategy, and moves to another group by the
 * class of what went wrong.
 */
export function createRouter(options: RouterOptions): Router {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const profile = resolveProfile(options.profile ?? 'llm');
  const telemetry = options.telemetry;
  const { groups, deployments, defaultGroup, maxHops } = resolveGroups(
    options,
    (spec) =>
      createPolicy(spec.profile ?? profile, {
        dependency: spec.id,
        clock,
        ...(options.random ? { random: options.random } : {}),
        observer: [
          telemetry?.observer({
            type: 'chat',
            provider: spec.provider.name,
            model: spec.provider.model,
            dependency: spec.id,
            describe: describeChat,
          }),
          options.observer,
        ],
        ...(isSharedHealthSource(options.store) ? { shared: options.store } : {}),
      }),
    clock,
  );

  function deadlineOf(opts: RouterCallOptions): number | undefined {
    const total = opts.deadlineMs ?? profile.timeout.totalMs;
    if (total === null) return undefined;
    if (!Number.isFinite(total) || total < 0)
      throw new RangeError(`deadlineMs: expected a non-negative number of milliseconds, got ${total}`);
    return clock.now() + total;
  }

  function groupNamed(name: string | undefined): ResolvedGroup {
    const g = groups.get(name ?? defaultGroup);
    if (g === undefined)
      throw new RangeError(
        `group: unknown group '${String(name)}' (known: ${[...groups.keys()].map((n) => `'${n}'`).join(', ')})`,
      );
    return g;
  }

  /** The SDK's own timeout: a safety net just behind our deadline, which aborts first. */
  function sdkTimeout(ctx: AttemptContext): number | undefined {
    return ctx.deadline === undefined ? undefined : Math.max(1, ctx.deadline - clock.now()) + 1_000;
  }

  /** A group's hedges are no one deployment's: the router's observer hears them here, telemetry through the call's scope. */
  const hedgeWatchers = new Observers([options.observer]);
  function hedged(
    e: HedgeEvent,
    group: string,
    primary: string,
    target: string | undefined,
    scope?: OperationScope,
  ) {
    let event: GroupHedgeEvent;
    if (e.type === 'hedge')
      event = { type: 'hedge_sent', dependency: primary, group, deployment: target!, delayMs: e.delayMs };
    else if (e.type === 'hedge.won')
      event = {
        type: 'hedge_won',
        dependency: primary,
        group,
        deployment: target!,
        delayMs: e.delayMs,
        elapsedMs: e.elapsedMs,
      };
    else
      event = {
        type: 'hedge_skipped',
        dependency: primary,
        group,
        reason: e.reason,
        ...(e.reason === 'budget' && target !== undefined ? { deployment: target } : {}),
      };
    scope?.hedge?.(event);
    if (hedgeWatchers.hasEvent) hedgeWatchers.event(event);
  }

  const refusals = new Refusals(positive(options.refusalMs ?? 60_000, 'refusalMs'));
  // Read as `=== 'all'` and `=== true` below: a misspelt value would silently mean the default.
  if (
    options.deadlineShare !== undefined &&
    options.deadlineShare !== 'equal' &&
    options.deadlineShare !== 'all'
  )
    throw new RangeError(`deadlineShare: expected 'equal' or 'all', got ${String(options.deadlineShare)}`);
  if (options.waitForRetryAfter !== undefined && typeof options.waitForRetryAfter !== 'boolean')
    throw new RangeError(`waitForRetryAfter: expected a boolean, got ${typeof options.waitForRetryAfter}`);
  const shareEqually = options.deadlineShare !== 'all';
  const streamTimeouts = resolveStreamTimeouts(options.stream);

  function coolingMs(d: DeploymentRuntime, now: number): number {
    const gate = d.policy.gate?.cooldownRemaining(now) ?? 0;
    return Math.max(gate, d.policy.health.cooldownUntil(now) - now);
  }

  /** Why `d` would be passed over now, or undefined when it can take a request. */
  function unhealthy(
    d: DeploymentRuntime,
    now: number,
    estimate: number,
    sized = true,
  ): SkipReason | undefined {
    if (sized && d.contextWindow !== undefined && estimate > d.contextWindow) return 'context_too_small';
    if (refusals.standing(d, now) !== undefined) return 'refused';
    const b = d.policy.breaker;
    if (b !== undefined && (b.state === 'isolated' || (b.state === 'open' && b.retryAfterMs(now) > 0)))
      return 'open';
    if (coolingMs(d, now) > 0) return 'cooling';
    if (d.quota.delayFor(estimate) > 0) return 'no_quota';
    return undefined;
  }

  function view(
    d: DeploymentRuntime,
    index: number,
    now: number,
    estimate: number,
    sized: boolean,
  ): DeploymentView {
    return {
      index,
      weight: d.weight,
      inFlight: d.inFlight,
      latencyMs: d.latency.ms,
      headroom: d.quota.headroom(),
      unhealthy: unhealthy(d, now, estimate, sized),
    };
  }

  /** Runs one routed call through the group it asks for and the groups its failures lead to. */
  async function route<T>(
    estimate: number,
    opts: RouterCallOptions,
    mode: RouteMode<T>,
    fn: AttemptFn<T>,
    scope?: OperationScope,
  ): Promise<Served<T>> {
    let group = groupNamed(opts.group);
    scope?.span.setAttribute(BW.group, group.name);
    const call: Call = {
      deadlineAt: deadlineOf(opts),
      patient: opts.waitForRetryAfter ?? options.waitForRetryAfter === true,
      estimate,
      sized: mode.embed !== true,
      failures: [],
      reported: new Set(),
      tried: new Set(),
      signal: opts.signal,
      scope,
    };
    const visited = new Set([group.name]);
    let stoppedAnswer: Served<T> | undefined;
    for (let hops = 0; ; hops++) {
      let out: GroupOutcome<T>;
      try {
        out = await runGroup(group, call, mode, fn);
      } catch (err) {
        // The fallback group failed too, with an error it throws at once (its own content-policy
        // refusal, a 400): the kept answer is still the best there is. The caller's abort is theirs.
        if (stoppedAnswer !== undefined && isBreakwaterError(err) && err.failure.kind !== 'cancelled')
          return stoppedAnswer;
        throw err;
      }
      let cls: FallbackClass;
      let reason: string;
      if (out.served) {
        if (!(mode.stopped?.(out.value) === true && group.fallbacks.contentPolicy !== undefined)) return out;
        // Kept: if the fallback group fails too, this answer is still the best there is.
        stoppedAnswer ??= out;
        cls = 'content_policy';
        reason = 'content_filter';
      } else {
        cls = out.cls;
        reason = out.reason;
      }
      const next = hops < maxHops ? fallbackTarget(group, cls, groups, visited, call.estimate) : undefined;
      if (next === undefined) {
        if (stoppedAnswer !== undefined) return stoppedAnswer;
        if (!out.served && out.error !== undefined) throw out.error;
        throw new AllProvidersFailedError(call.failures);
      }
      scope?.fallback(group.name, next.name, reason, cls);
      visited.add(next.name);
      group = next;
    }
  }

  /**
   * Tries the group's deployments, each at most once per call, in the order
   * its strategy picks them, until one answers. docs/providers.md ("Retries
   * and failover in a group") has the rule this follows.
   */
  async function runGroup<T>(
    group: ResolvedGroup,
    call: Call,
    mode: RouteMode<T>,
    fn: AttemptFn<T>,
  ): Promise<GroupOutcome<T>> {
    const { patient, estimate, sized, scope } = call;
    // A deployment listed in several groups is tried once per call: it would fail the same way again.
    const untried = group.members.filter((d) => !call.tried.has(d));
    for (const d of untried) call.tried.add(d);
    const canEmbed = (d: DeploymentRuntime) => typeof d.provider.embed === 'function';
    const seen: GroupFailure[] = [];
    let last: { readonly id: string; readonly reason: string } | undefined;
    // The group's hedge budget counts this call once, however many of its deployments it goes through.
    let hedgeCounted = false;

    const record = (d: DeploymentRuntime, error: BreakwaterError, skipped: boolean, tooSmallHere = false) => {
      call.failures.push({
        provider: d.provider.name,
        model: d.provider.model,
        deployment: d.id,
        group: group.name,
        skipped,
        error,
      });
      seen.push({ failure: error.failure, tooSmall: tooSmallHere });
      last = { id: d.id, reason: error.failure.kind };
    };
    const report = (d: DeploymentRuntime, reason: SkipReason) => {
      if (call.reported.has(d)) return;
      call.reported.add(d);
      scope?.event(EVENT.deploymentSkipped, {
        [BW.deployment]: d.id,
        [BW.group]: group.name,
        [BW.skipReason]: reason,
      });
    };
    // An embed never reaches a deployment that cannot embed: each is skipped, once, before any pick.
    if (mode.embed)
      for (const d of untried.filter((o) => !canEmbed(o))) {
        untried.splice(untried.indexOf(d), 1);
        report(d, 'unsupported');
        record(d, unsupported(d), true);
      }
    /** Another untried deployment may answer: not refusing, not open, not too small. */
    const alternative = (now: number) =>
      untried.some((o) => {
        const why = unhealthy(o, now, estimate, sized);
        return why === undefined || why === 'cooling' || why === 'no_quota';
      });
    const healthyElsewhere = (now: number) =>
      untried.some((o) => unhealthy(o, now, estimate, sized) === undefined);

    for (;;) {
      const now = clock.now();
      // `index` is the position among the untried, which keep declaration order.
      const candidates = [...untried];
      const views = candidates.map((d, i) => view(d, i, now, estimate, sized));
      const pick = pickNext(views, group.strategy, random);
      if (pick === undefined) break;
      const d = candidates[pick.index]!;
      untried.splice(pick.index, 1);
      const why = pick.unhealthy;
      if (why === 'context_too_small') {
        report(d, why);
        record(d, tooSmall(d, estimate), true, true);
        continue;
      }
      if (why === 'refused') {
        report(d, why);
        record(d, refusals.standing(d, now)!, true);
        continue;
      }
      if (why === 'cooling' && !patient && alternative(now)) {
        report(d, why);
        record(d, coolingDown(d, coolingMs(d, now)), true);
        continue;
      }
      if (why === 'no_quota' && healthyElsewhere(now)) {
        report(d, why);
        record(d, noQuota(d, d.quota.delayFor(estimate)), true);
        continue;
      }
      // The strategy passed over these: say why, once per call.
      if (group.strategy !== 'ordered')
        for (const v of views)
          if (v !== pick && v.unhealthy !== undefined) report(candidates[v.index]!, v.unhealthy);
      if (last !== undefined) scope?.fallback(last.id, d.id, last.reason);

      const left = call.deadlineAt === undefined ? undefined : Math.max(0, call.deadlineAt - now);
      // What the deployments after this one are owed; the last gets all that is left.
      const share = left === undefined || !shareEqually ? left : left / (untried.length + 1);
      const shareEndsAt = share === undefined ? undefined : now + share;
      const committed = mode.committed;
      const retryIf = (f: Failure): boolean => {
        if (committed?.()) return false;
        const at = clock.now();
        if (shareEndsAt !== undefined && at >= shareEndsAt) return false;
        // Another healthy deployment first: a retry goes there before anyone waits out a backoff.
        if (group.retryOn === 'another' && healthyElsewhere(at)) return false;
        // Busy now is not broken: with somewhere else to go, move on rather than wait.
        return patient || !(isBusy(f) && alternative(at));
      };
      // The quota is taken before the policy runs, so that a wait for it counts against this
      // deployment's share and nothing is sent meanwhile, and a hold past the deadline is a skip
      // (no request, no attempt, no cooldown for the other callers), not a failed attempt.
      let first: QuotaReservation | undefined;
      // Counted from here: a call waiting for this deployment's quota is its load too.
      d.inFlight++;
      try {
        first = await d.quota.acquire(estimate, {
          signal: call.signal,
          ...(shareEndsAt !== undefined ? { deadline: shareEndsAt } : {}),
        });
      } catch (err) {
        // An abort falls through: the policy turns it into the caller's `CancelledError`.
        if (call.signal?.aborted !== true) {
          d.inFlight--;
          if (!isBreakwaterError(err)) throw err;
          report(d, 'no_quota');
          record(d, err, true);
          continue;
        }
      }
      /**
       * The call on one deployment, under its policy. `reserved`: the quota its
       * first attempt sends under (given back unused if it never sends);
       * `onAnswer` hears its first token (a chat: its answer).
       */
      const runOn = async (
        dep: DeploymentRuntime,
        reserved: QuotaReservation | undefined,
        signal: AbortSignal | undefined,
        pickedAt: number,
        onAnswer?: () => void,
      ): Promise<T> => {
        let held0 = reserved;
        // Reservations whose attempt has not settled them. An abandoned attempt settles its own when its
        // signal aborts; this is the backstop, so that no reservation outlives its call.
        const holding = new Set<QuotaReservation>();
        try {
          // The policy skips a deployment without a call when its breaker is open,
          // or when it is cooling down after a 429 for longer than its share.
          return await dep.policy.run(
            async (ctx) => {
              // From the pick for the first attempt: time queued for the quota or the gate is latency
              // the caller waits too, so a deployment with a queue does not look fast.
              const started = ctx.attempt === 1 ? pickedAt : clock.now();
              const answered = () => {
                dep.latency.record(clock.now() - started);
                onAnswer?.();
              };
              // The first attempt sends under the reservation taken above; a retry takes its own.
              const held =
                held0 ??
                (await dep.quota.acquire(estimate, {
                  signal: ctx.signal,
                  ...(ctx.deadline !== undefined ? { deadline: ctx.deadline } : {}),
                }));
              const retried = held0 === undefined;
              held0 = undefined;
              holding.add(held);
              // A retry's wait for quota may have outlasted the breaker that admitted it: refused then,
              // its reservation given back unused (nothing was sent).
              if (retried && dep.policy.breaker !== undefined)
                try {
                  refuseIfOpened(dep.policy.breaker, clock.now(), dep.id);
                } catch (err) {
                  holding.delete(held);
                  dep.quota.settle(held, 0, { counted: false });
                  throw err;
                }
              // Abandoned (its timeout, the deadline, an abort): possibly sent, so it counts by its estimate
              // from now, and the call's later attempts do not find it still in flight. A provider deaf to
              // the signal may never return; its late ending finds the reservation settled already.
              const abandoned = () => {
                holding.delete(held);
                dep.quota.settle(held);
                slower(dep, clock.now() - started);
              };
              const signal = ctx.signal;
              if (signal.aborted) abandoned();
              else signal.addEventListener('abort', abandoned, { once: true });
              const headers = (h: Headers) => dep.quota.observe(readRateLimitHeaders(h, clock.now()), held);
              let used: number | undefined;
              let counted = true;
              try {
                const v = await fn(dep, ctx, shareEndsAt, answered, headers, group);
                used = totalTokens(v);
                return v;
              } catch (err) {
                if (isBreakwaterError(err) && err.failure.kind === 'timeout')
                  slower(dep, clock.now() - started);
                // Refused by the provider (a 429) or never sent: it took nothing of the key's limits, and
                // the quota must not give it back as if it had (its headers were read as an answer).
                if (
                  isBreakwaterError(err) &&
                  (err.failure.delivery === 'not_sent' ||
                    (err.failure.kind === 'rate_limited' && err.failure.delivery === 'not_processed'))
                )
                  counted = false;
                throw err;
              } finally {
                signal.removeEventListener('abort', abandoned);
                holding.delete(held);
                dep.quota.settle(held, used, { counted });
              }
            },
            {
              signal,
              // Counted from the pick, not from now: a wait for the quota is spent from the deployment's
              // share (a chat) or the call's deadline (a stream), never added to it. A hedge starts after its
              // delay and runs under its own share, but never past the call's deadline.
              deadlineMs: within(
                mode.share === 'call' ? share : left,
                dep === d && mode.share === 'call' ? shareEndsAt : call.deadlineAt,
                clock.now(),
              ),
              retryIf,
            },
          );
        } finally {
          // Never sent (an open breaker, an abort): the reservation goes back unused.
          if (held0 !== undefined) dep.quota.settle(held0, 0);
          // Possibly sent: each counts, by its estimate, from now.
          for (const held of holding) dep.quota.settle(held);
        }
      };
      /**
       * One request of a hedged call: it is ahead once its deployment answers
       * (a stream: its first chunk); `whole` is the rest of it (a stream's
       * end). The loser's signal aborts its policy run, and so its request.
       */
      const racer = (
        dep: DeploymentRuntime,
        reserved: QuotaReservation | undefined,
        signal: AbortSignal,
        pickedAt: number,
      ): Promise<{ readonly route: DeploymentRuntime; readonly whole: Promise<T> }> => {
        let onAnswer!: () => void;
        const answeredFirst = new Promise<void>((resolve) => {
          onAnswer = resolve;
        });
        const whole = runOn(dep, reserved, signal, pickedAt, onAnswer);
        // The loser's end (its cancel) is nobody's: handled here, so it is never an unhandled rejection.
        whole.catch(() => undefined);
        const ahead = { route: dep, whole };
        return Promise.race([answeredFirst.then(() => ahead), whole.then(() => ahead)]);
      };
      /** The hedge's deployment, once sent: removed from the untried, its failure recorded with the primary's. */
      let second: { readonly d: DeploymentRuntime; error?: unknown } | undefined;
      try {
        // Hedging is for chats and streams: an embed is sent once per deployment.
        const hedger = mode.embed ? undefined : group.hedger;
        let served: { readonly route: DeploymentRuntime; readonly value: T };
        const reserved = first;
        first = undefined;
        if (hedger === undefined) served = { route: d, value: await runOn(d, reserved, call.signal, now) };
        else {
          /** The deployment the hedge goes to, once picked: what its events name. */
          let target: DeploymentRuntime | undefined;
          const newCall = !hedgeCounted;
          hedgeCounted = true;
          const won = await hedger.run((signal) => racer(d, reserved, signal, now), {
            signal: call.signal,
            newCall,
            alternative: () => {
              const at = clock.now();
              const healthy = untried.filter((o) => unhealthy(o, at, estimate, sized) === undefined);
              const views = healthy.map((o, k) => view(o, k, at, estimate, sized));
              const p = pickNext(views, group.strategy, random);
              if (p === undefined) return undefined;
              const other = healthy[p.index]!;
              target = other;
              // Taken from the untried only when sent: the budget may still refuse the hedge.
              return async (signal) => {
                untried.splice(untried.indexOf(other), 1);
                const hedge: { readonly d: DeploymentRuntime; error?: unknown } = { d: other };
                second = hedge;
                other.inFlight++;
                try {
                  const held = await other.quota.acquire(estimate, {
                    signal,
                    ...(shareEndsAt !== undefined ? { deadline: shareEndsAt } : {}),
                  });
                  const ahead = await racer(other, held, signal, at);
                  ahead.whole.then(
                    () => other.inFlight--,
                    () => other.inFlight--,
                  );
                  return ahead;
                } catch (e) {
                  other.inFlight--;
                  hedge.error = e;
                  throw e;
                }
              };
            },
            observer: (e) => hedged(e, group.name, d.id, target?.id, scope),
          });
          served = { route: won.route, value: await won.whole };
        }
        return { served: true, route: served.route, value: served.value, group: group.name };
      } catch (err) {
        if (!isBreakwaterError(err) || committed?.()) throw err;
        const verdict = mode.embed ? embedVerdict(err.failure) : routeVerdict(err.failure);
        if (verdict === 'caller') throw err;
        if (verdict === 'content_policy') {
          // Another deployment of the group would refuse it the same way; another group may not.
          if (group.fallbacks.contentPolicy === undefined) throw err;
          record(d, err, false);
          return {
            served: false,
            cls: 'content_policy',
            reason: err.failure.code ?? err.failure.kind,
            error: err,
          };
        }
        if (verdict === 'refused') refusals.refuse(d, err, clock.now());
        const skipped = err.attempts.length === 0;
        if (skipped && err.failure.kind === 'circuit_open') report(d, 'open');
        record(d, err, skipped);
        const h = second as { readonly d: DeploymentRuntime; error?: unknown } | undefined;
        if (h !== undefined && isBreakwaterError(h.error))
          record(h.d, h.error, h.error.attempts.length === 0);
      } finally {
        d.inFlight--;
      }
    }
    return { served: false, cls: exhaustedClass(seen), reason: last?.reason ?? 'unavailable' };
  }

  /** `route`, inside a telemetry operation when there is telemetry. */
  function traced<T>(
    name: string,
    request: ChatRequest | EmbedRequest,
    opts: RouterCallOptions,
    mode: RouteMode<T>,
    fn: AttemptFn<T>,
  ): Promise<Served<T>> {
    const estimate = mode.embed
      ? estimateEmbedTokens(request as EmbedRequest)
      : estimateTokens(request as ChatRequest);
    if (!telemetry) return route(estimate, opts, mode, fn);
    const spec = mode.embed
      ? ({ type: 'route', name, operation: 'embeddings' } as const)
      : ({ type: 'route', name, messages: (request as ChatRequest).messages } as const);
    return telemetry.operation(spec, async (scope) => {
      const served = await route(estimate, opts, mode, fn, scope);
      scope.span.setAttribute(BW.group, served.group);
      scope.span.setAttribute(BW.deployment, served.route.id);
      return served;
    });
  }

  /**
   * Neutral tool definitions are checked once, before any provider is tried,
   * so that a bad one surfaces as `InvalidInputError` naming the field (a
   * definition source is checked by each provider in its own format).
   */
  function validate(request: ChatRequest, opts: RouterCallOptions): void {
    groupNamed(opts.group);
    checkRequestShape(request);
    const tools = request.tools;
    if (Array.isArray(tools)) for (const [i, t] of tools.entries()) normalizeToolDefinition(t, `tools[${i}]`);
  }

  /**
   * A call answered whole (a chat, an embed): one provider call per attempt,
   * answered when it returns, and the result names the deployment that served.
   */
  async function answeredWhole<T extends object>(
    name: 'chat' | 'embed',
    request: ChatRequest | EmbedRequest,
    opts: RouterCallOptions,
    mode: RouteMode<T>,
    send: (r: DeploymentRuntime, call: ProviderCallOptions) => Promise<T>,
  ): Promise<T & { readonly deployment: string }> {
    const { route: d, value } = await traced(
      name,
      request,
      opts,
      mode,
      async (r, ctx, _share, answered, onHeaders) => {
        const res = await send(r, { signal: ctx.signal, timeoutMs: sdkTimeout(ctx), onHeaders });
        answered();
        return res;
      },
    );
    return { ...value, deployment: d.id };
  }

  async function chat(request: ChatRequest, opts: RouterCallOptions = {}): Promise<ChatResponse> {
    validate(request, opts);
    return answeredWhole('chat', request, opts, { share: 'call', stopped: contentStopped }, (r, call) =>
      r.provider.chat(request, call),
    );
  }

  /**
   * The stream is one policy attempt from request to last chunk (see
   * `streamAttempt`): retries and failover happen only until the first chunk
   * is handed over; the route span, the chat span and the breaker see how the
   * stream ended.
   */
  async function* stream(
    request: ChatRequest,
    opts: RouterCallOptions = {},
  ): AsyncGenerator<ChatChunk, void, undefined> {
    validate(request, opts);
    type Opened = OpenedStream & { readonly route: DeploymentRuntime; readonly idleMs: number | undefined };
    let opened: Opened | undefined;
    let onOpen!: (o: Opened) => void;
    const opening = new Promise<Opened>((resolve) => {
      onOpen = resolve;
    });
    const mode: RouteMode<ChatResponse> = { share: 'first-chunk', committed: () => opened !== undefined };
    const done = traced('stream', request, opts, mode, (r, ctx, firstChunkBy, answered, onHeaders, group) =>
      streamAttempt({
        provider: withHeaders(r.provider, onHeaders),
        request,
        ctx,
        clock,
        timeoutMs: sdkTimeout(ctx),
        firstChunkBy,
        // The group's own timeouts first, field by field.
        firstChunkMs: group.stream.firstChunkMs ?? streamTimeouts.firstChunkMs,
        onOpen: (o) => {
          if (opened !== undefined) {
            // The other request of a hedged call opened first: this one lost. Closed, and ended as a cancel.
            o.controller.abort(new HedgeLostError());
            void o.iterator.return?.().catch(() => undefined);
            o.end({ ok: false, error: hedgeLost(r.id) });
            return;
          }
          answered();
          opened = { ...o, route: r, idleMs: group.stream.idleMs ?? streamTimeouts.idleMs };
          onOpen(opened);
        },
      }),
    );
    // Before the first chunk, `done` rejecting is the routed call failing; after it, the stream breaking.
    const o = await Promise.race([opening, done.then(() => opening)]);
    const deployment = o.route.id;
    const reading = readOpened(o, {
      provider: o.route.provider,
      done,
      signal: opts.signal,
      clock,
      idleMs: o.idleMs,
    });
    for await (const chunk of reading) {
      yield chunk.type === 'finish' ? { ...chunk, response: { ...chunk.response, deployment } } : chunk;
    }
  }

  /** The embed request's shape, and a group that can serve it, checked before any request. */
  function validateEmbed(request: EmbedRequest, opts: EmbedCallOptions): void {
    const group = groupNamed(opts.group);
    const r = request as unknown as { input?: unknown; dimensions?: unknown } | null;
    if (typeof r !== 'object' || r === null) throw invalid('request', 'expected an embed request object');
    const input = r.input;
    if (Array.isArray(input)) {
      if (input.length === 0) throw invalid('input', 'expected at least one text to embed');
      for (const [i, t] of input.entries())
        if (typeof t !== 'string') throw invalid(`input[${i}]`, 'expected a string');
    } else if (typeof input !== 'string') throw invalid('input', 'expected a string or an array of strings');
    const dims = r.dimensions;
    if (dims !== undefined && (typeof dims !== 'number' || !Number.isInteger(dims) || dims <= 0))
      throw invalid('dimensions', 'expected a positive integer');
    if (!group.members.some((d) => typeof d.provider.embed === 'function'))
      throw invalid(
        'group',
        `group '${group.name}' has no deployment that can embed (none of its providers has embed; Anthropic's has no embeddings API)`,
      );
  }

  async function embed(request: EmbedRequest, opts: EmbedCallOptions = {}): Promise<EmbedResponse> {
    validateEmbed(request, opts);
    // `runGroup` tries only deployments that can embed.
    return answeredWhole('embed', request, opts, { share: 'call', embed: true }, (r, call) =>
      r.provider.embed!(request, call),
    );
  }

  return { routes: deployments, chat, stream, embed };
}

/** `p`, with every stream reporting its response headers to `onHeaders` (the deployment's quota). */
function withHeaders(p: Provider, onHeaders: (headers: Headers) => void): Provider {
  return {
    name: p.name,
    model: p.model,
    chat: (request, options) => p.chat(request, { ...options, onHeaders }),
    stream: (request, options) => p.stream(request, { ...options, onHeaders }),
  };
}

/** One routed call's state across the groups it visits. */
interface Call {
  readonly deadlineAt: number | undefined;
  readonly patient: boolean;
  readonly estimate: number;
  /** The context-window pre-check applies (a chat's, not an embed's). */
  readonly sized: boolean;
  readonly failures: ProviderFailure[];
  /** Deployments already named in a `deployment.skipped` event. */
  readonly reported: Set<DeploymentRuntime>;
  /** Deployments already tried or skipped in this call, in any group. */
  readonly tried: Set<DeploymentRuntime>;
  readonly signal: AbortSignal | undefined;
  readonly scope: OperationScope | undefined;
}
