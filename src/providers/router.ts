import { type BreakwaterError, isBreakwaterError, RateLimitedError } from '../failure/errors.js';
import type { Failure } from '../failure/failure.js';
import { type Clock, type Random, systemClock } from '../policy/clock.js';
import type { PolicyObserver } from '../policy/events.js';
import { type AttemptContext, createPolicy, type Policy } from '../policy/pipeline.js';
import {
  type BuiltinProfileName,
  type Profile,
  type ProfileInput,
  resolveProfile,
} from '../policy/profile.js';
import { isSharedHealthSource } from '../policy/shared.js';
import type { StateStore } from '../state/store.js';
import type { ChatResult, OperationScope, Telemetry } from '../telemetry/telemetry.js';
import { AllProvidersFailedError, type ProviderFailure } from './errors.js';
import { isBusy, Refusals, routeVerdict } from './routing.js';
import { type OpenedStream, streamAttempt } from './stream-attempt.js';
import { readOpened } from './stream-reader.js';
import { resolveStreamTimeouts, type StreamTimeouts } from './stream-timeouts.js';
import { normalizeToolDefinition } from './tools.js';
import type { ChatChunk, ChatRequest, ChatResponse, Provider } from './types.js';

/** What a `chat {model}` span records of an answer, a chat's or a whole stream's. */
function describeChat(value: unknown): ChatResult | undefined {
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
  /** Tried in this order. */
  readonly providers: readonly Provider[];
  /** Every provider's policy, unless the provider names its own. Default `llm`. */
  readonly profile?: BuiltinProfileName | ProfileInput | Profile | undefined;
  /**
   * Where provider health lives. A store that shares health across processes
   * (`createRedisStore`) shares each provider's breaker, 429 cooldown and retry
   * budget with every worker; the in-process store changes nothing here.
   */
  readonly store?: StateStore | undefined;
  readonly clock?: Clock | undefined;
  readonly random?: Random | undefined;
  readonly observer?: PolicyObserver | undefined;
  /**
   * Each call becomes a `breakwater.route` span, each provider attempt a
   * `chat {model}` span with the GenAI attributes, each failover an event.
   * `observer`, when given too, watches beside telemetry.
   */
  readonly telemetry?: Telemetry | undefined;
  /**
   * How much of the time left each provider may use before the next one is
   * tried. `equal` (the default): the time left split evenly between the
   * providers not yet tried, so a provider that hangs leaves the rest theirs;
   * what a provider does not use passes on. `all`: each may use all of it.
   */
  readonly deadlineShare?: 'equal' | 'all' | undefined;
  /**
   * With another provider left to try, a provider that answers 429 or 529 is
   * left at once, not waited for (its Retry-After or backoff), and one cooling
   * down after a 429 is skipped. `true` waits as its profile allows. Default false.
   */
  readonly waitForRetryAfter?: boolean | undefined;
  /**
   * How long a provider that refused the account or model (a bad key, no
   * credit, an unknown model) is skipped before one request tries it again.
   * Default 60 000 ms.
   */
  readonly refusalMs?: number | undefined;
  /** A first-chunk timeout and an idle timeout between chunks for `stream` (see `StreamTimeouts`). */
  readonly stream?: StreamTimeouts | undefined;
}

export interface RouterCallOptions {
  /** Aborting it cancels the request in flight; no other provider is tried. */
  readonly signal?: AbortSignal | undefined;
  /** Time for the whole call, every provider and wait included. Default: the profile's `timeout.totalMs`. */
  readonly deadlineMs?: number | undefined;
  /** Overrides the router's `waitForRetryAfter` for this call. */
  readonly waitForRetryAfter?: boolean | undefined;
}

/** One provider and the policy in front of it (its breaker, gate and cooldown). */
export interface Route {
  readonly provider: Provider;
  readonly policy: Policy;
}

export interface Router {
  readonly routes: readonly Route[];
  /** The first healthy provider's answer. Throws the caller's own errors at once, else `AllProvidersFailedError`. */
  chat(request: ChatRequest, options?: RouterCallOptions): Promise<ChatResponse>;
  /**
   * The first healthy provider's answer as it is generated. Retries and
   * failover happen only until the first chunk is handed over; a failure after
   * that ends the stream with `StreamInterruptedError`, which holds what came.
   */
  stream(request: ChatRequest, options?: RouterCallOptions): AsyncGenerator<ChatChunk, void, undefined>;
}

/** A provider cooling down after a 429, skipped because another can answer now. */
function coolingDown(r: Route, ms: number): BreakwaterError {
  return new RateLimitedError({
    failure: {
      kind: 'rate_limited',
      delivery: 'not_sent',
      retryAfterMs: ms,
      message: `cooling down for another ${Math.ceil(ms)} ms after a 429; another provider can answer now`,
      cause: undefined,
    },
    dependency: `${r.provider.name}/${r.provider.model}`,
  });
}

function positive(ms: number, field: string): number {
  if (!Number.isFinite(ms) || ms <= 0)
    throw new RangeError(`${field}: expected a positive number of milliseconds, got ${ms}`);
  return ms;
}

/** How a routed call runs on one provider: the share of the deadline it may use, and when to stop failing over. */
interface RouteMode {
  /**
   * `call`: the share bounds the whole policy run (a chat). `first-chunk`: the
   * share bounds the wait for the first chunk, and the rest of the deadline
   * the stream (`fn` enforces the first).
   */
  readonly share: 'call' | 'first-chunk';
  /** True once the caller holds part of an answer: no retry and no failover after that. */
  readonly committed?: () => boolean;
}

/**
 * A router over several providers: each behind its own policy (retries,
 * breaker, gate with Retry-After cooldown), tried in order.
 */
export function createRouter(options: RouterOptions): Router {
  if (options.providers.length === 0) throw new RangeError('createRouter: at least one provider is needed');
  const clock = options.clock ?? systemClock;
  const profile = resolveProfile(options.profile ?? 'llm');
  const telemetry = options.telemetry;
  const routes: Route[] = options.providers.map((provider) => {
    const observer = [
      telemetry?.observer({
        type: 'chat',
        provider: provider.name,
        model: provider.model,
        describe: describeChat,
      }),
      options.observer,
    ];
    return {
      provider,
      policy: createPolicy(provider.profile ?? profile, {
        dependency: `${provider.name}/${provider.model}`,
        clock,
        ...(options.random ? { random: options.random } : {}),
        observer,
        ...(isSharedHealthSource(options.store) ? { shared: options.store } : {}),
      }),
    };
  });

  function deadlineOf(opts: RouterCallOptions): number | undefined {
    const total = opts.deadlineMs ?? profile.timeout.totalMs;
    if (total === null) return undefined;
    if (!Number.isFinite(total) || total < 0)
      throw new RangeError(`deadlineMs: expected a non-negative number of milliseconds, got ${total}`);
    return clock.now() + total;
  }

  /** The SDK's own timeout: a safety net just behind our deadline, which aborts first. */
  function sdkTimeout(ctx: AttemptContext): number | undefined {
    return ctx.deadline === undefined ? undefined : Math.max(1, ctx.deadline - clock.now()) + 1_000;
  }

  const refusals = new Refusals(positive(options.refusalMs ?? 60_000, 'refusalMs'));
  const shareEqually = options.deadlineShare !== 'all';
  const streamTimeouts = resolveStreamTimeouts(options.stream);

  /** Whether a provider after `i` may still be tried: one has not refused, and its breaker is not open. */
  function alternativeAfter(i: number, now: number): boolean {
    for (let j = i + 1; j < routes.length; j++) {
      const state = routes[j]!.policy.breaker?.state;
      if (refusals.standing(j, now) === undefined && state !== 'open' && state !== 'isolated') return true;
    }
    return false;
  }

  /** Why route `i` is not tried at all, or undefined to try it. */
  function skipReason(i: number, now: number, patient: boolean): BreakwaterError | undefined {
    const refused = refusals.standing(i, now);
    if (refused) return refused;
    if (patient || !alternativeAfter(i, now)) return undefined;
    const cooling = routes[i]!.policy.gate?.cooldownRemaining(now) ?? 0;
    return cooling > 0 ? coolingDown(routes[i]!, cooling) : undefined;
  }

  /** Runs `fn` on each provider in turn until one succeeds. */
  async function route<T>(
    opts: RouterCallOptions,
    mode: RouteMode,
    fn: (r: Route, ctx: AttemptContext, shareEndsAt: number | undefined) => Promise<T>,
    scope?: OperationScope,
  ): Promise<{ route: Route; value: T }> {
    const deadlineAt = deadlineOf(opts);
    const patient = opts.waitForRetryAfter ?? options.waitForRetryAfter === true;
    const failures: ProviderFailure[] = [];
    for (const [i, r] of routes.entries()) {
      const now = clock.now();
      let error = skipReason(i, now, patient);
      const skipped = error !== undefined;
      if (error === undefined) {
        const left = deadlineAt === undefined ? undefined : Math.max(0, deadlineAt - now);
        // What the providers after this one are owed; the last gets all that is left.
        const share = left === undefined || !shareEqually ? left : left / (routes.length - i);
        const shareEndsAt = share === undefined ? undefined : now + share;
        const committed = mode.committed;
        const retryIf = (f: Failure): boolean => {
          if (committed?.()) return false;
          const at = clock.now();
          if (shareEndsAt !== undefined && at >= shareEndsAt) return false;
          // Busy now is not broken: with somewhere else to go, move on rather than wait.
          return patient || !(isBusy(f) && alternativeAfter(i, at));
        };
        try {
          // The policy skips a provider without a call when its breaker is open,
          // or when it is cooling down after a 429 for longer than its share.
          const value = await r.policy.run((ctx) => fn(r, ctx, shareEndsAt), {
            signal: opts.signal,
            deadlineMs: mode.share === 'call' ? share : left,
            retryIf,
          });
          return { route: r, value };
        } catch (err) {
          if (!isBreakwaterError(err) || committed?.()) throw err;
          const verdict = routeVerdict(err.failure);
          if (verdict === 'caller') throw err;
          if (verdict === 'refused') refusals.refuse(i, err, clock.now());
          error = err;
        }
      }
      failures.push({
        provider: r.provider.name,
        model: r.provider.model,
        skipped: skipped || error.attempts.length === 0,
        error,
      });
      const next = routes[i + 1];
      if (next) {
        const from = `${r.provider.name}/${r.provider.model}`;
        scope?.fallback(from, `${next.provider.name}/${next.provider.model}`, error.failure.kind);
      }
    }
    throw new AllProvidersFailedError(failures);
  }

  /** `route`, inside a telemetry operation when there is telemetry. */
  function traced<T>(
    name: string,
    request: ChatRequest,
    opts: RouterCallOptions,
    mode: RouteMode,
    fn: (r: Route, ctx: AttemptContext, shareEndsAt: number | undefined) => Promise<T>,
  ): Promise<{ route: Route; value: T }> {
    if (!telemetry) return route(opts, mode, fn);
    return telemetry.operation({ type: 'route', name, messages: request.messages }, (scope) =>
      route(opts, mode, fn, scope),
    );
  }

  /**
   * Neutral tool definitions are checked once, before any provider is tried,
   * so that a bad one surfaces as `InvalidInputError` naming the field (a
   * definition source is checked by each provider in its own format).
   */
  function validate(request: ChatRequest): void {
    const tools = request.tools;
    if (Array.isArray(tools)) for (const [i, t] of tools.entries()) normalizeToolDefinition(t, `tools[${i}]`);
  }

  async function chat(request: ChatRequest, opts: RouterCallOptions = {}): Promise<ChatResponse> {
    validate(request);
    const { value } = await traced('chat', request, opts, { share: 'call' }, (r, ctx) =>
      r.provider.chat(request, { signal: ctx.signal, timeoutMs: sdkTimeout(ctx) }),
    );
    return value;
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
    validate(request);
    let opened: (OpenedStream & { readonly route: Route }) | undefined;
    let onOpen!: (o: OpenedStream & { readonly route: Route }) => void;
    const opening = new Promise<OpenedStream & { readonly route: Route }>((resolve) => {
      onOpen = resolve;
    });
    const mode: RouteMode = { share: 'first-chunk', committed: () => opened !== undefined };
    const done = traced('stream', request, opts, mode, (r, ctx, firstChunkBy) =>
      streamAttempt({
        provider: r.provider,
        request,
        ctx,
        clock,
        timeoutMs: sdkTimeout(ctx),
        firstChunkBy,
        firstChunkMs: streamTimeouts.firstChunkMs,
        onOpen: (o) => {
          opened = { ...o, route: r };
          onOpen(opened);
        },
      }),
    );
    // Before the first chunk, `done` rejecting is the routed call failing; after it, the stream breaking.
    const o = await Promise.race([opening, done.then(() => opening)]);
    yield* readOpened(o, {
      provider: o.route.provider,
      done,
      signal: opts.signal,
      clock,
      idleMs: streamTimeouts.idleMs,
    });
  }

  return { routes, chat, stream };
}
