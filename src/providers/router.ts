import { type BreakwaterError, CancelledError, isBreakwaterError } from '../failure/errors.js';
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
import { Assembler } from './assemble.js';
import { AllProvidersFailedError, type ProviderFailure, StreamInterruptedError } from './errors.js';
import { providerError, truncatedStream } from './failures.js';
import { normalizeToolDefinition } from './tools.js';
import type { ChatChunk, ChatRequest, ChatResponse, Provider } from './types.js';

/** What a `chat {model}` span records of an answer (an opened stream has nothing to say yet). */
function describeChat(value: unknown): ChatResult | undefined {
  const r = value as Partial<ChatResponse> | undefined;
  if (!r || typeof r.model !== 'string' || r.message === undefined) return undefined;
  return {
    responseModel: r.model,
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
   * `observer`, when given too, replaces the per-provider observers.
   */
  readonly telemetry?: Telemetry | undefined;
}

export interface RouterCallOptions {
  /** Aborting it cancels the request in flight; no other provider is tried. */
  readonly signal?: AbortSignal | undefined;
  /** Time for the whole call, every provider and wait included. Default: the profile's `timeout.totalMs`. */
  readonly deadlineMs?: number | undefined;
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

/**
 * Failures that are the caller's to fix, and that another provider would
 * only repeat: a bad request, bad credentials, a cancel.
 */
function isCallerError(f: Failure): boolean {
  return (
    f.kind === 'client_error' || f.kind === 'auth' || f.kind === 'invalid_input' || f.kind === 'cancelled'
  );
}

/** Failures that say the provider is unwell, for the breaker (as the profile's `countKinds` would). */
function countsAgainst(policy: Policy, f: Failure): boolean {
  const b = policy.profile.breaker;
  return b !== false && b.countKinds.includes(f.kind);
}

interface Opened {
  readonly iterator: AsyncIterator<ChatChunk, void, undefined>;
  readonly first: ChatChunk;
  readonly controller: AbortController;
}

/** Aborts when either does. `AbortSignal.any` is missing before Node 20.3. */
function either(a: AbortSignal, b: AbortSignal): AbortSignal {
  if (typeof AbortSignal.any === 'function') return AbortSignal.any([a, b]);
  const c = new AbortController();
  const onA = () => c.abort(a.reason);
  const onB = () => c.abort(b.reason);
  if (a.aborted) onA();
  else if (b.aborted) onB();
  else {
    a.addEventListener('abort', onA, { once: true });
    b.addEventListener('abort', onB, { once: true });
  }
  return c.signal;
}

const CALLER = Symbol('caller');
const DEADLINE = Symbol('deadline');

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
    const observer =
      options.observer ??
      telemetry?.observer({
        type: 'chat',
        provider: provider.name,
        model: provider.model,
        describe: describeChat,
      });
    return {
      provider,
      policy: createPolicy(provider.profile ?? profile, {
        dependency: `${provider.name}/${provider.model}`,
        clock,
        ...(options.random ? { random: options.random } : {}),
        ...(observer ? { observer } : {}),
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

  /** Runs `fn` on each provider in turn until one succeeds. */
  async function route<T>(
    opts: RouterCallOptions,
    fn: (r: Route, ctx: AttemptContext) => Promise<T>,
    scope?: OperationScope,
  ): Promise<{ route: Route; value: T }> {
    const deadlineAt = deadlineOf(opts);
    const failures: ProviderFailure[] = [];
    for (const [i, r] of routes.entries()) {
      const left = deadlineAt === undefined ? undefined : Math.max(0, deadlineAt - clock.now());
      try {
        // The policy skips a provider without a call when its breaker is open,
        // or when it is cooling down after a 429 for longer than `left`.
        const value = await r.policy.run((ctx) => fn(r, ctx), { signal: opts.signal, deadlineMs: left });
        return { route: r, value };
      } catch (err) {
        if (!isBreakwaterError(err)) throw err;
        if (isCallerError(err.failure)) throw err;
        failures.push({
          provider: r.provider.name,
          model: r.provider.model,
          skipped: err.attempts.length === 0,
          error: err,
        });
        const next = routes[i + 1];
        if (next) {
          const from = `${r.provider.name}/${r.provider.model}`;
          scope?.fallback(from, `${next.provider.name}/${next.provider.model}`, err.failure.kind);
        }
      }
    }
    throw new AllProvidersFailedError(failures);
  }

  /** `route`, inside a telemetry operation when there is telemetry. */
  function traced<T>(
    name: string,
    request: ChatRequest,
    opts: RouterCallOptions,
    fn: (r: Route, ctx: AttemptContext) => Promise<T>,
  ): Promise<{ route: Route; value: T }> {
    if (!telemetry) return route(opts, fn);
    return telemetry.operation({ type: 'route', name, messages: request.messages }, (scope) =>
      route(opts, fn, scope),
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
    const { value } = await traced('chat', request, opts, (r, ctx) =>
      r.provider.chat(request, { signal: ctx.signal, timeoutMs: sdkTimeout(ctx) }),
    );
    return value;
  }

  /** Opens a provider's stream and waits for its first chunk: the part that may be retried. */
  async function open(r: Route, request: ChatRequest, ctx: AttemptContext): Promise<Opened> {
    // The attempt's signal covers the attempt; this one outlives it, for the rest of the stream.
    const controller = new AbortController();
    const signal = either(ctx.signal, controller.signal);
    const iterator = r.provider
      .stream(request, { signal, timeoutMs: sdkTimeout(ctx) })
      [Symbol.asyncIterator]();
    const first = await iterator.next();
    if (first.done) throw truncatedStream(`${r.provider.name}/${r.provider.model}`);
    return { iterator, first: first.value, controller };
  }

  async function* stream(
    request: ChatRequest,
    opts: RouterCallOptions = {},
  ): AsyncGenerator<ChatChunk, void, undefined> {
    validate(request);
    const deadlineAt = deadlineOf(opts);
    const left = deadlineAt === undefined ? undefined : deadlineAt - clock.now();
    // The span covers the routing, up to the first chunk: what may be retried or failed over.
    const { route: r, value } = await traced('stream', request, { ...opts, deadlineMs: left }, (rt, ctx) =>
      open(rt, request, ctx),
    );
    const { iterator, controller } = value;
    const { provider, policy } = r;
    const dependency = `${provider.name}/${provider.model}`;
    const asm = new Assembler();

    const onCallerAbort = () => controller.abort(CALLER);
    opts.signal?.addEventListener('abort', onCallerAbort, { once: true });
    if (opts.signal?.aborted) controller.abort(CALLER);
    const timer =
      deadlineAt === undefined
        ? undefined
        : clock.setTimeout(() => controller.abort(DEADLINE), Math.max(0, deadlineAt - clock.now()));
    let finished = false;
    try {
      let next: IteratorResult<ChatChunk, void> = { done: false, value: value.first };
      while (!next.done) {
        asm.add(next.value);
        yield next.value;
        if (controller.signal.aborted) break;
        try {
          next = await iterator.next();
        } catch (err) {
          throw interrupted(err);
        }
      }
      if (controller.signal.aborted) throw interrupted(controller.signal.reason);
      finished = true;
    } finally {
      if (timer !== undefined) clock.clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onCallerAbort);
      if (!finished) {
        // The caller stopped reading, or the stream broke: close the HTTP request.
        controller.abort(controller.signal.reason ?? CALLER);
        await iterator.return?.().catch(() => undefined);
      }
    }

    function interrupted(err: unknown): BreakwaterError {
      const why = controller.signal.reason;
      if (why === CALLER || opts.signal?.aborted) {
        return new CancelledError({
          failure: {
            kind: 'cancelled',
            delivery: 'processed',
            message: 'cancelled by the caller during the stream',
            cause: opts.signal?.reason,
          },
          dependency,
        });
      }
      const failure: Failure =
        why === DEADLINE
          ? {
              kind: 'timeout',
              delivery: 'processed',
              code: 'deadline',
              message: 'deadline reached during the stream',
              cause: undefined,
            }
          : (isBreakwaterError(err) ? err : providerError(err, true, dependency)).failure;
      // After HTTP 200 the pipeline no longer watches this call, so tell the
      // breaker here: a mid-stream overload is as much a health failure as a 529.
      if (why !== DEADLINE && countsAgainst(policy, failure)) policy.breaker?.failure({ probe: 0 });
      return new StreamInterruptedError({
        failure,
        partial: asm.partial(),
        provider: provider.name,
        model: provider.model,
      });
    }
  }

  return { routes, chat, stream };
}
