import {
  type Attributes,
  context,
  type Meter,
  metrics,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { isBreakwaterError } from '../failure/errors.js';
import type { Failure } from '../failure/failure.js';
import { remoteTextStandIn } from '../failure/remote-text.js';
import type { BreakerState } from '../policy/breaker.js';
import type { Effect } from '../policy/decision.js';
import type {
  AttemptInfo,
  AttemptOutcome,
  GroupHedgeEvent,
  OperationInfo,
  PolicyEvent,
  PolicyObserver,
} from '../policy/events.js';
import type { HedgeEvent } from '../policy/hedge.js';
import {
  BW,
  DURATION_BUCKETS,
  ERROR_TYPE,
  EVENT,
  GEN_AI_INPUT_MESSAGES,
  GEN_AI_OPERATION_CHAT,
  GEN_AI_OPERATION_EMBEDDINGS,
  GEN_AI_OPERATION_EXECUTE_TOOL,
  GEN_AI_OPERATION_NAME,
  GEN_AI_OUTPUT_MESSAGES,
  GEN_AI_PROVIDER_NAME,
  GEN_AI_REQUEST_MODEL,
  GEN_AI_TOKEN_TYPE,
  GEN_AI_TOOL_CALL_ARGUMENTS,
  GEN_AI_TOOL_CALL_ID,
  GEN_AI_TOOL_CALL_RESULT,
  GEN_AI_TOOL_DESCRIPTION,
  GEN_AI_TOOL_NAME,
  GEN_AI_TOOL_TYPE,
  GEN_AI_USAGE_INPUT_TOKENS,
  GEN_AI_USAGE_OUTPUT_TOKENS,
  METRIC,
  METRIC_OPERATION_DURATION,
  METRIC_TOKEN_USAGE,
  TOKEN_BUCKETS,
} from './semconv.js';

const LIBRARY = 'breakwater';
const VERSION = '0.1.0';

/** Where a piece of content would go; the `redact` hook is told so it can treat each differently. */
export type ContentField = 'tool.arguments' | 'tool.result' | 'input.messages' | 'output.messages';

export interface TelemetryOptions {
  /** Defaults to the global tracer provider's `breakwater` tracer: a no-op until the application installs an SDK. */
  readonly tracer?: Tracer;
  readonly meter?: Meter;
  /**
   * Tool arguments and results, prompts and completions on spans. Off by
   * default: they carry personal data and secrets. API keys are never recorded.
   */
  readonly captureContent?: boolean;
  /** Applied to every piece of captured content; return what may be recorded. */
  readonly redact?: (value: unknown, field: ContentField) => unknown;
  /**
   * When breakwater runs inside a framework's own span for the same tool call
   * (the Vercel AI SDK's), add attempts and events under it instead of opening
   * a duplicate operation span. Default true.
   */
  readonly reuseFrameworkSpans?: boolean;
}

export type OperationSpec =
  | {
      readonly type: 'tool';
      readonly tool: string;
      readonly callId?: string | undefined;
      readonly toolType?: 'function' | 'extension' | 'datastore';
      readonly description?: string | undefined;
      readonly effect: Effect;
      readonly profile: string;
      readonly keyPresent: boolean;
      /** Recorded only with `captureContent`. */
      readonly arguments?: unknown;
    }
  | {
      /** A routed model call: the parent of every provider attempt, and where fallbacks are recorded. */
      readonly type: 'route';
      readonly name: string;
      /**
       * The GenAI operation of the route span and of its provider attempts:
       * `chat` (the default), or `embeddings` (attempt spans `embeddings {model}`).
       */
      readonly operation?: 'chat' | 'embeddings' | undefined;
      /** Recorded only with `captureContent`. */
      readonly messages?: unknown;
    };

/** What the code inside an operation may add to it. */
export interface OperationScope {
  readonly span: Span;
  event(name: string, attributes?: Attributes): void;
  /** The result came from the idempotency ledger, not from running the tool. */
  replayed(): void;
  /** A successful result, recorded only with `captureContent`. */
  result(value: unknown): void;
  /** `fallbackClass`: set when the call moved between model groups, for why (`context_window`, …). */
  fallback(from: string, to: string, reason: string, fallbackClass?: string): void;
  /**
   * A hedged call's events: `breakwater.hedge` when the second request is
   * sent, `breakwater.hedge.won` when it answered first. Skipped hedges are
   * left out of the span: they change nothing it shows. A router group's
   * (`GroupHedgeEvent`) are also counted: `breakwater.hedges.sent`, `.won`
   * and `.denied` (declined by the budget), by group and deployment.
   */
  hedge?(event: HedgeEvent | GroupHedgeEvent): void;
}

/** What an attempt span is about: a tool attempt, or one call to a model provider. */
export type AttemptTarget =
  | { readonly type: 'tool'; readonly tool: string }
  | {
      readonly type: 'chat';
      readonly provider: string;
      readonly model: string;
      /** The router's deployment id, the key of its health and metrics; default `provider/model`. */
      readonly dependency?: string;
      /** Response attributes (model, usage, finish reasons) from a successful attempt's value. */
      readonly describe?: (value: unknown) => ChatResult | undefined;
    }
  | { readonly type: 'policy'; readonly name: string };

export interface ChatResult {
  readonly responseModel?: string;
  readonly responseId?: string;
  readonly finishReasons?: readonly string[];
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  /** Recorded only with `captureContent`. */
  readonly output?: unknown;
}

export interface Telemetry {
  readonly captureContent: boolean;
  /** Runs `fn` as one operation: a span that is the parent of every attempt and carries every decision as an event. */
  operation<T>(spec: OperationSpec, fn: (scope: OperationScope) => Promise<T>): Promise<T>;
  /** The observer to give `createPolicy`, so its attempts become spans and its decisions events and metrics. */
  observer(target: AttemptTarget): PolicyObserver;
}

interface OperationState {
  attempts: number;
  replayed: boolean;
  /** A route's GenAI operation, which its provider attempts take. */
  operation?: string;
}

const STATES = new WeakMap<Span, OperationState>();

function routeOperation(spec: Extract<OperationSpec, { type: 'route' }>): string {
  return spec.operation === 'embeddings' ? GEN_AI_OPERATION_EMBEDDINGS : GEN_AI_OPERATION_CHAT;
}

function errorType(err: unknown): string {
  if (isBreakwaterError(err)) return err.code;
  if (err instanceof Error) return err.name || 'Error';
  return '_OTHER';
}

function outcomeOf(err: unknown): 'failed' | 'unknown' {
  return isBreakwaterError(err) && err.outcome === 'unknown' ? 'unknown' : 'failed';
}

/**
 * Metric attributes whose values a remote party chooses (the model a
 * provider says answered, an error code) keep the first values seen per
 * attribute and fold the rest into `_OTHER`, so that no provider can grow
 * the number of series without bound.
 */
class BoundedValues {
  private readonly seen = new Map<string, Set<string>>();

  constructor(private readonly limit: number) {}

  of(key: string, value: string): string {
    let values = this.seen.get(key);
    if (!values) {
      values = new Set();
      this.seen.set(key, values);
    }
    if (values.has(value)) return value;
    if (values.size >= this.limit) return '_OTHER';
    values.add(value);
    return value;
  }
}

function failureAttributes(f: Failure): Attributes {
  const a: Attributes = {
    [BW.failureKind]: f.kind,
    [BW.failureDelivery]: f.delivery,
    [ERROR_TYPE]: f.code ?? f.kind,
  };
  if (f.status !== undefined) a[BW.failureStatus] = f.status;
  return a;
}

/** The content an application opted into, after its redaction, as a span attribute value. */
function serialize(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return '[unserializable]';
  }
}

export function createTelemetry(options: TelemetryOptions = {}): Telemetry {
  const tracer = options.tracer ?? trace.getTracer(LIBRARY, VERSION);
  const meter = options.meter ?? metrics.getMeter(LIBRARY, VERSION);
  const capture = options.captureContent === true;
  const redact = options.redact ?? ((v: unknown) => v);
  const reuse = options.reuseFrameworkSpans !== false;
  const content = (value: unknown, field: ContentField) => serialize(redact(value, field));
  const bounded = new BoundedValues(20);

  /** A failure's message, unless it is another system's words and content is not captured. */
  function failureMessage(f: Failure): string {
    const standIn = capture ? undefined : remoteTextStandIn(f.cause);
    return standIn ?? f.message;
  }

  /** A span's status message for `err`: our own words only, unless content is captured. */
  function statusMessage(err: unknown, type: string): string {
    if (!isBreakwaterError(err)) return type;
    const standIn = capture ? undefined : remoteTextStandIn(err.failure.cause);
    return standIn === undefined ? err.message : `${err.code}: ${standIn}`;
  }

  const duration = meter.createHistogram(METRIC_OPERATION_DURATION, {
    unit: 's',
    description:
      'Duration of a GenAI operation: one model call, or one tool execution with all its attempts.',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });
  const tokens = meter.createHistogram(METRIC_TOKEN_USAGE, {
    unit: '{token}',
    description: 'Tokens used by a model call, by gen_ai.token.type.',
    advice: { explicitBucketBoundaries: TOKEN_BUCKETS },
  });
  const attemptsCounter = meter.createCounter(METRIC.attempts, {
    unit: '{attempt}',
    description: 'Attempts that reached a dependency, by outcome and failure kind.',
  });
  const retriesCounter = meter.createCounter(METRIC.retries, {
    unit: '{retry}',
    description: 'Retries scheduled, by failure kind and whether the delay came from Retry-After.',
  });
  const transitions = meter.createCounter(METRIC.breakerTransitions, {
    unit: '{transition}',
    description: 'Circuit breaker state changes.',
  });
  const fallbacks = meter.createCounter(METRIC.fallbacks, {
    unit: '{fallback}',
    description: 'Calls moved from one provider to the next.',
  });
  const rejections = meter.createCounter(METRIC.rejections, {
    unit: '{call}',
    description:
      'Calls refused without reaching the dependency: open breaker, full queue, queue timeout, cooldown.',
  });
  const fallbacksUsed = meter.createCounter(METRIC.fallbacksUsed, {
    unit: '{call}',
    description: "Calls answered by a policy's fallback instead of their failure.",
  });
  const chaosInjections = meter.createCounter(METRIC.chaosInjections, {
    unit: '{injection}',
    description: 'Latency, faults and outcomes injected by chaos strategies (staging only).',
  });
  const hedgesSent = meter.createCounter(METRIC.hedgesSent, {
    unit: '{request}',
    description: "Second requests sent by a router group's hedging, by the deployment they went to.",
  });
  const hedgesWon = meter.createCounter(METRIC.hedgesWon, {
    unit: '{request}',
    description: 'Hedged second requests that answered first, by the deployment that won.',
  });
  const hedgesDenied = meter.createCounter(METRIC.hedgesDenied, {
    unit: '{request}',
    description: "Hedges not sent because the group's hedge budget was spent.",
  });
  const gateWait = meter.createHistogram(METRIC.gateWait, {
    unit: 's',
    description: 'Time an attempt waited in its gate (cooldown, concurrency, rate) before it ran.',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });
  const breakerStates = new Map<string, BreakerState>();
  const stateGauge = meter.createObservableGauge(METRIC.breakerState, {
    description: 'Circuit breaker state per dependency: 1 for the current state, 0 for the others.',
  });
  const ALL_STATES: BreakerState[] = ['closed', 'open', 'half_open', 'isolated', 'disabled'];
  stateGauge.addCallback((result) => {
    for (const [dependency, current] of breakerStates) {
      for (const s of ALL_STATES)
        result.observe(s === current ? 1 : 0, { [BW.dependency]: dependency, [BW.breakerState]: s });
    }
  });

  function frameworkSpan(spec: OperationSpec): Span | undefined {
    if (!reuse || spec.type !== 'tool' || spec.callId === undefined) return undefined;
    const active = trace.getActiveSpan();
    if (!active?.isRecording()) return undefined;
    // The API gives no access to attributes; SDK spans expose them, and that is the only case that matters.
    const attrs = (active as unknown as { attributes?: Record<string, unknown> }).attributes;
    if (!attrs) return undefined;
    const id = attrs[GEN_AI_TOOL_CALL_ID] ?? attrs['ai.toolCall.id'];
    return id === spec.callId ? active : undefined;
  }

  function startAttributes(spec: OperationSpec): { name: string; kind: SpanKind; attributes: Attributes } {
    if (spec.type === 'route') {
      const attributes: Attributes = { [GEN_AI_OPERATION_NAME]: routeOperation(spec) };
      if (capture && spec.messages !== undefined)
        attributes[GEN_AI_INPUT_MESSAGES] = content(spec.messages, 'input.messages');
      return { name: `breakwater.route ${spec.name}`, kind: SpanKind.INTERNAL, attributes };
    }
    const attributes: Attributes = {
      [GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_EXECUTE_TOOL,
      [GEN_AI_TOOL_NAME]: spec.tool,
      [GEN_AI_TOOL_TYPE]: spec.toolType ?? 'function',
      [BW.effect]: spec.effect,
      [BW.profile]: spec.profile,
      [BW.dependency]: spec.tool,
      [BW.keyPresent]: spec.keyPresent,
    };
    if (spec.callId !== undefined) attributes[GEN_AI_TOOL_CALL_ID] = spec.callId;
    if (spec.description !== undefined) attributes[GEN_AI_TOOL_DESCRIPTION] = spec.description;
    if (capture && spec.arguments !== undefined)
      attributes[GEN_AI_TOOL_CALL_ARGUMENTS] = content(spec.arguments, 'tool.arguments');
    return { name: `execute_tool ${spec.tool}`, kind: SpanKind.INTERNAL, attributes };
  }

  async function operation<T>(spec: OperationSpec, fn: (scope: OperationScope) => Promise<T>): Promise<T> {
    const started = performance.now();
    const reused = frameworkSpan(spec);
    const { name, kind, attributes } = startAttributes(spec);
    const span = reused ?? tracer.startSpan(name, { kind, attributes });
    if (reused) reused.setAttributes(attributes);
    const state: OperationState = { attempts: 0, replayed: false };
    if (spec.type === 'route') state.operation = routeOperation(spec);
    STATES.set(span, state);
    const scope: OperationScope = {
      span,
      event: (n, a) => span.addEvent(n, a),
      replayed: () => {
        state.replayed = true;
        span.addEvent(EVENT.ledger, { [BW.ledgerAction]: 'replay' });
      },
      result: (value) => {
        if (capture && spec.type === 'tool')
          span.setAttribute(GEN_AI_TOOL_CALL_RESULT, content(value, 'tool.result'));
      },
      fallback: (from, to, reason, fallbackClass) => {
        const attributes: Attributes = {
          [BW.fallbackFrom]: from,
          [BW.fallbackTo]: to,
          [BW.fallbackReason]: reason,
          ...(fallbackClass !== undefined ? { [BW.fallbackClass]: fallbackClass } : {}),
        };
        span.addEvent(EVENT.fallback, attributes);
        fallbacks.add(1, attributes);
      },
      hedge: (e) => {
        switch (e.type) {
          case 'hedge':
            span.addEvent(EVENT.hedge, { [BW.hedgeDelayMs]: Math.round(e.delayMs) });
            return;
          case 'hedge.won':
            span.addEvent(EVENT.hedgeWon, {
              [BW.hedgeDelayMs]: Math.round(e.delayMs),
              [BW.hedgeElapsedMs]: Math.round(e.elapsedMs),
            });
            return;
          case 'hedge_sent': {
            const where: Attributes = { [BW.group]: e.group, [BW.deployment]: e.deployment };
            span.addEvent(EVENT.hedge, { ...where, [BW.hedgeDelayMs]: Math.round(e.delayMs) });
            hedgesSent.add(1, where);
            return;
          }
          case 'hedge_won': {
            const where: Attributes = { [BW.group]: e.group, [BW.deployment]: e.deployment };
            span.addEvent(EVENT.hedgeWon, {
              ...where,
              [BW.hedgeDelayMs]: Math.round(e.delayMs),
              [BW.hedgeElapsedMs]: Math.round(e.elapsedMs),
            });
            hedgesWon.add(1, where);
            return;
          }
          case 'hedge_skipped':
            if (e.reason === 'budget')
              hedgesDenied.add(1, {
                [BW.group]: e.group,
                ...(e.deployment !== undefined ? { [BW.deployment]: e.deployment } : {}),
              });
            return;
        }
      },
    };
    const metricAttrs: Attributes =
      spec.type === 'tool'
        ? { [GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION_EXECUTE_TOOL, [GEN_AI_TOOL_NAME]: spec.tool }
        : { [GEN_AI_OPERATION_NAME]: routeOperation(spec) };
    try {
      const value = await context.with(trace.setSpan(context.active(), span), () => fn(scope));
      span.setAttributes({
        [BW.outcome]: 'ok',
        [BW.attempts]: state.attempts,
        [BW.replayed]: state.replayed,
      });
      if (spec.type === 'tool') duration.record((performance.now() - started) / 1000, metricAttrs);
      return value;
    } catch (err) {
      const type = errorType(err);
      span.setAttributes({
        [BW.outcome]: outcomeOf(err),
        [BW.attempts]: state.attempts,
        [BW.replayed]: state.replayed,
        [ERROR_TYPE]: type,
      });
      // Only our own words: an error's message and stack may quote the request.
      span.setStatus({ code: SpanStatusCode.ERROR, message: statusMessage(err, type) });
      if (spec.type === 'tool')
        duration.record((performance.now() - started) / 1000, { ...metricAttrs, [ERROR_TYPE]: type });
      throw err;
    } finally {
      if (!reused) span.end();
    }
  }

  function onEvent(e: PolicyEvent): void {
    const span = trace.getActiveSpan();
    switch (e.type) {
      case 'retry_scheduled':
        span?.addEvent(EVENT.retry, {
          [BW.dependency]: e.dependency,
          [BW.attempt]: e.attempt,
          [BW.retryDelayMs]: Math.round(e.delayMs),
          [BW.retryFromRetryAfter]: e.fromRetryAfter,
          ...failureAttributes(e.failure),
        });
        retriesCounter.add(1, {
          [BW.dependency]: e.dependency,
          [BW.failureKind]: e.failure.kind,
          [BW.retryFromRetryAfter]: e.fromRetryAfter,
        });
        return;
      case 'breaker_transition':
        breakerStates.set(e.dependency, e.to);
        span?.addEvent(EVENT.breakerTransition, {
          [BW.dependency]: e.dependency,
          [BW.breakerFrom]: e.from,
          [BW.breakerTo]: e.to,
          [BW.breakerReason]: e.reason,
        });
        transitions.add(1, { [BW.dependency]: e.dependency, [BW.breakerFrom]: e.from, [BW.breakerTo]: e.to });
        return;
      case 'rejected':
        span?.addEvent(EVENT.rejected, { [BW.dependency]: e.dependency, [BW.rejectReason]: e.reason });
        rejections.add(1, { [BW.dependency]: e.dependency, [BW.rejectReason]: e.reason });
        return;
      case 'cooldown_started':
        span?.addEvent(EVENT.cooldown, {
          [BW.dependency]: e.dependency,
          [BW.cooldownMs]: Math.round(e.retryAfterMs),
        });
        return;
      case 'budget_exhausted':
        span?.addEvent(EVENT.budgetExhausted, {
          [BW.dependency]: e.dependency,
          ...failureAttributes(e.failure),
        });
        return;
      case 'outcome_unknown':
        span?.addEvent(EVENT.outcomeUnknown, {
          [BW.dependency]: e.dependency,
          ...failureAttributes(e.failure),
        });
        return;
      case 'reconciled':
        span?.addEvent(EVENT.reconciled, { [BW.dependency]: e.dependency, [BW.reconciledFound]: e.found });
        return;
      case 'fallback_used':
        span?.addEvent(EVENT.fallbackUsed, {
          [BW.dependency]: e.dependency,
          [BW.fallbackOutcome]: e.outcome,
          ...failureAttributes(e.failure),
        });
        fallbacksUsed.add(1, { [BW.dependency]: e.dependency, [BW.failureKind]: e.failure.kind });
        return;
      case 'chaos_injected': {
        const a: Attributes = { [BW.dependency]: e.dependency, [BW.chaosStrategy]: e.strategy };
        if (e.failure !== undefined) Object.assign(a, failureAttributes(e.failure));
        if (e.delayMs !== undefined) a[BW.chaosDelayMs] = Math.round(e.delayMs);
        // On the attempt's span (the stage runs inside the attempt): which attempt was tampered with, and how.
        span?.setAttribute(BW.chaosStrategy, e.strategy);
        span?.addEvent(EVENT.chaos, a);
        chaosInjections.add(1, { [BW.dependency]: e.dependency, [BW.chaosStrategy]: e.strategy });
        return;
      }
      case 'hedge_sent':
      case 'hedge_won':
      case 'hedge_skipped':
        // A group's, not one deployment's: the router gives them to the route's scope (`hedge`), counted there once.
        return;
    }
  }

  function observer(target: AttemptTarget): PolicyObserver {
    const dependency =
      target.type === 'tool'
        ? target.tool
        : target.type === 'chat'
          ? (target.dependency ?? `${target.provider}/${target.model}`)
          : target.name;
    breakerStates.set(dependency, 'closed');

    const attemptSpan = (info: AttemptInfo, operation: string): Span => {
      // Built for every attempt but only read by a recording span: with no SDK, the API's no-op is all we pay.
      const base: Attributes = {
        [BW.dependency]: dependency,
        [BW.attempt]: info.attempt,
        [BW.waitMs]: Math.round(info.waitedMs),
        [BW.queuedMs]: Math.round(info.queuedMs),
      };
      if (target.type === 'chat') {
        return tracer.startSpan(`${operation} ${target.model}`, {
          kind: SpanKind.CLIENT,
          attributes: {
            ...base,
            [GEN_AI_OPERATION_NAME]: operation,
            [GEN_AI_PROVIDER_NAME]: target.provider,
            [GEN_AI_REQUEST_MODEL]: target.model,
          },
        });
      }
      return tracer.startSpan(`breakwater.attempt ${dependency}`, {
        kind: SpanKind.INTERNAL,
        attributes: base,
      });
    };

    const okAttempt: Attributes = { [BW.dependency]: dependency, [BW.attemptOutcome]: 'ok' };
    const endAttempt = <T>(
      span: Span,
      outcome: AttemptOutcome<T>,
      seconds: number,
      operation: string,
    ): void => {
      const chatAttrs: Attributes | undefined =
        target.type === 'chat'
          ? {
              [GEN_AI_OPERATION_NAME]: operation,
              [GEN_AI_PROVIDER_NAME]: target.provider,
              [GEN_AI_REQUEST_MODEL]: target.model,
              // Per deployment: two keys or regions of one model are two series.
              [BW.dependency]: dependency,
            }
          : undefined;
      if (outcome.ok) {
        span.setAttribute(BW.attemptOutcome, 'ok');
        attemptsCounter.add(1, okAttempt);
        if (target.type === 'chat' && chatAttrs) {
          const r = target.describe?.(outcome.value);
          if (r) {
            const a: Attributes = {};
            if (r.responseModel !== undefined) a['gen_ai.response.model'] = r.responseModel;
            if (r.responseId !== undefined) a['gen_ai.response.id'] = r.responseId;
            if (r.finishReasons !== undefined) a['gen_ai.response.finish_reasons'] = [...r.finishReasons];
            if (r.inputTokens !== undefined) a[GEN_AI_USAGE_INPUT_TOKENS] = r.inputTokens;
            if (r.outputTokens !== undefined) a[GEN_AI_USAGE_OUTPUT_TOKENS] = r.outputTokens;
            if (capture && r.output !== undefined)
              a[GEN_AI_OUTPUT_MESSAGES] = content(r.output, 'output.messages');
            span.setAttributes(a);
            const metricAttrs = r.responseModel
              ? {
                  ...chatAttrs,
                  'gen_ai.response.model': bounded.of(`${dependency} model`, r.responseModel),
                }
              : chatAttrs;
            if (r.inputTokens !== undefined)
              tokens.record(r.inputTokens, { ...metricAttrs, [GEN_AI_TOKEN_TYPE]: 'input' });
            if (r.outputTokens !== undefined)
              tokens.record(r.outputTokens, { ...metricAttrs, [GEN_AI_TOKEN_TYPE]: 'output' });
          }
          duration.record(seconds, chatAttrs);
        }
      } else {
        const f = outcome.failure;
        span.setAttributes({ ...failureAttributes(f), [BW.attemptOutcome]: 'failed' });
        span.setStatus({ code: SpanStatusCode.ERROR, message: failureMessage(f) });
        attemptsCounter.add(1, {
          [BW.dependency]: dependency,
          [BW.attemptOutcome]: 'failed',
          [BW.failureKind]: f.kind,
        });
        if (chatAttrs)
          duration.record(seconds, {
            ...chatAttrs,
            [ERROR_TYPE]: bounded.of(`${dependency} error`, f.code ?? f.kind),
          });
      }
      span.end();
    };

    const result: PolicyObserver = {
      name: 'telemetry',
      attempt<T>(info: AttemptInfo, run: () => Promise<AttemptOutcome<T>>): Promise<AttemptOutcome<T>> {
        const parent = trace.getActiveSpan();
        const state = parent ? STATES.get(parent) : undefined;
        if (state) state.attempts++;
        if (info.queuedMs > 0) gateWait.record(info.queuedMs / 1000, { [BW.dependency]: dependency });
        // A model call takes its route's operation (`embeddings` for an embed); `chat` otherwise.
        const operation = state?.operation ?? GEN_AI_OPERATION_CHAT;
        const span = attemptSpan(info, operation);
        const started = performance.now();
        // A span with no trace behind it (no SDK installed) has nothing to propagate.
        const inert = !span.isRecording() && !trace.isSpanContextValid(span.spanContext());
        const pending = inert ? run() : context.with(trace.setSpan(context.active(), span), run);
        return pending.then((outcome) => {
          endAttempt(span, outcome, (performance.now() - started) / 1000, operation);
          return outcome;
        });
      },
      event: onEvent,
    };
    if (target.type === 'policy') {
      return {
        ...result,
        operation<T>(info: OperationInfo, run: () => Promise<T>): Promise<T> {
          return operationForPolicy(info, run);
        },
      };
    }
    return result;
  }

  function operationForPolicy<T>(info: OperationInfo, run: () => Promise<T>): Promise<T> {
    const span = tracer.startSpan(`breakwater ${info.dependency}`, { kind: SpanKind.INTERNAL });
    const inert = !span.isRecording() && !trace.isSpanContextValid(span.spanContext());
    if (inert) return run();
    span.setAttributes({
      [BW.dependency]: info.dependency,
      [BW.profile]: info.profile,
      [BW.effect]: info.effect,
    });
    const state: OperationState = { attempts: 0, replayed: false };
    STATES.set(span, state);
    return context.with(trace.setSpan(context.active(), span), run).then(
      (value) => {
        span.setAttributes({ [BW.outcome]: 'ok', [BW.attempts]: state.attempts });
        span.end();
        return value;
      },
      (err: unknown) => {
        span.setAttributes({
          [BW.outcome]: outcomeOf(err),
          [BW.attempts]: state.attempts,
          [ERROR_TYPE]: errorType(err),
        });
        span.setStatus({ code: SpanStatusCode.ERROR, message: statusMessage(err, errorType(err)) });
        span.end();
        throw err;
      },
    );
  }

  return { captureContent: capture, operation, observer };
}
