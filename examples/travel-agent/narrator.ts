/**
 * The demo's running commentary. It is a `Telemetry` that wraps the real
 * one: every line it prints comes from the very operations, attempts and
 * policy events that also become OpenTelemetry spans and events, so what the
 * reader is told and what a trace backend would show cannot drift apart.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type AttemptOutcome,
  type Failure,
  isBreakwaterError,
  type OperationScope,
  type OperationSpec,
  type PolicyEvent,
  type PolicyObserver,
  type Telemetry,
} from 'breakwater';
import type { Style } from '../shared/style.js';
import { callLabel, deliveryWords, failureWords, resultWords, waitWords } from './words.js';

/** What the narrator needs to know of a tool to explain a decision about it. */
export interface ToolTraits {
  readonly effect: 'idempotent' | 'non-idempotent';
  /** The dependency de-duplicates by idempotency key. */
  readonly honored: boolean;
  /** The tool can look an operation up when its outcome is in doubt. */
  readonly reconciles: boolean;
}

export interface NarratorOptions {
  readonly out: (line: string) => void;
  readonly style: Style;
  readonly traits: (tool: string) => ToolTraits | undefined;
  /** How long a dependency's breaker stays open from now, for "no calls to it for 5 s". */
  readonly openFor?: (dependency: string) => number | undefined;
}

interface Operation {
  readonly spec: OperationSpec;
  readonly label: string;
  attempts: number;
  lastFailure: Failure | undefined;
  replayed: boolean;
  waitedForServer: number | undefined;
  reconciled: boolean;
}

const INDENT = '  ';

export function narrated(inner: Telemetry, o: NarratorOptions): Telemetry {
  const { out, style: s } = o;
  const current = new AsyncLocalStorage<Operation>();
  /** Failed attempts in a row per dependency, for "3 failures in a row". */
  const streak = new Map<string, number>();
  /** One line per cooldown, not one per caller that hit it. */
  const cooldownUntil = new Map<string, number>();

  const say = (line: string) => out(`${INDENT}${line}`);
  const who = (op: Operation | undefined, dependency: string) =>
    op?.spec.type === 'tool' ? op.label : dependency;

  function whySafe(op: Operation | undefined, e: Extract<PolicyEvent, { type: 'retry_scheduled' }>): string {
    const f = e.failure;
    const wait = waitWords(e.delayMs);
    if (e.fromRetryAfter)
      return `the service asked for ${waitWords(f.retryAfterMs ?? e.delayMs)}: retrying after ${wait}, as it asked`;
    if (f.delivery === 'not_sent') return `${deliveryWords(f)}: retrying in ${wait}`;
    if (f.delivery === 'not_processed') return `${deliveryWords(f)}: retrying in ${wait}`;
    if (op?.spec.type !== 'tool') return `a model call changes nothing: retrying in ${wait}`;
    const traits = o.traits(op.spec.tool);
    if (traits?.effect === 'idempotent')
      return `${op.spec.tool.startsWith('search') ? 'a search' : 'it'} is safe to repeat: retrying in ${wait}`;
    if (traits?.honored)
      return `it may have gone through, but the service de-duplicates by key: retrying in ${wait} with the same Idempotency-Key`;
    return `retrying in ${wait}`;
  }

  function onEvent(e: PolicyEvent): void {
    const op = current.getStore();
    switch (e.type) {
      case 'retry_scheduled': {
        if (op && e.fromRetryAfter) op.waitedForServer = e.delayMs;
        say(`${s.yellow('↻')} ${who(op, e.dependency)}: ${failureWords(e.failure)} — ${whySafe(op, e)}`);
        return;
      }
      case 'cooldown_started': {
        const until = cooldownUntil.get(e.dependency) ?? 0;
        if (e.untilMs <= until + 250) return;
        cooldownUntil.set(e.dependency, e.untilMs);
        say(
          `${s.yellow('⏸')} ${e.dependency}: every call to it now waits ${waitWords(e.retryAfterMs)}, as the service asked — one pause for all callers, not a retry storm`,
        );
        return;
      }
      case 'breaker_transition': {
        const dep = s.bold(e.dependency);
        if (e.to === 'open') {
          const left = o.openFor?.(e.dependency);
          const time = left !== undefined && left > 0 ? ` for ${waitWords(left)}` : '';
          const n = streak.get(e.dependency) ?? 0;
          const why =
            e.reason === 'failures'
              ? `${n} failures in a row`
              : e.reason === 'probe_failed'
                ? 'the probe failed'
                : e.reason.replace(/_/g, ' ');
          const last = op?.lastFailure ? `${failureWords(op.lastFailure)}, ` : '';
          say(`${s.red('⛔')} ${dep}: ${last}${why} — breaker opened: no requests go to it${time}`);
        } else if (e.to === 'half_open')
          say(`${s.yellow('◐')} breaker on ${dep} half-open: one probe may go through`);
        else if (e.to === 'closed') say(`${s.green('●')} breaker on ${dep} closed again: traffic returns`);
        return;
      }
      case 'rejected': {
        if (e.reason === 'circuit_open') {
          const left = o.openFor?.(e.dependency);
          const time = left !== undefined && left > 0 ? `, ${waitWords(left)} left` : '';
          const next = op?.spec.type === 'route' ? ': on to the next provider' : '';
          say(`${s.cyan('⤳')} ${e.dependency} skipped: its breaker is open (no request sent${time})${next}`);
        } else if (e.reason === 'cooldown')
          say(`${s.yellow('⏸')} ${who(op, e.dependency)}: still cooling down past the deadline — not sent`);
        else {
          const why = e.reason === 'queue_full' ? 'its queue is full' : 'no slot in its queue came in time';
          say(`${s.red('✗')} ${who(op, e.dependency)}: ${why} — not sent`);
        }
        return;
      }
      case 'budget_exhausted':
        say(
          `${s.red('✗')} ${who(op, e.dependency)}: the retry budget is spent — no more retries on a dependency that keeps failing`,
        );
        return;
      case 'reconciled': {
        if (op) op.reconciled = e.found;
        const f = op?.lastFailure;
        const what = f ? `${failureWords(f)} ${deliveryWords(f)}` : 'the outcome was in doubt';
        say(
          `${s.yellow('?')} ${who(op, e.dependency)}: ${what}; the service has no idempotency key, so it is ${s.bold('not')} sent again`,
        );
        say(
          e.found
            ? `${s.green('↺')} ${who(op, e.dependency)}: looked it up by the reference sent with the request — it had been accepted, so that is the answer`
            : `${s.yellow('↻')} ${who(op, e.dependency)}: looked it up — it never arrived, so one more attempt is safe`,
        );
        return;
      }
      case 'outcome_unknown': {
        const f = e.failure;
        const lookup =
          op?.spec.type === 'tool' && o.traits(op.spec.tool)?.reconciles
            ? 'and looking it up failed too'
            : 'and no way to look it up';
        say(
          `${s.yellow('?')} ${who(op, e.dependency)}: ${failureWords(f)} ${deliveryWords(f)}; the service has no idempotency key ${lookup}: ${s.bold('outcome unknown')} — reported, not repeated`,
        );
        return;
      }
    }
  }

  function finished(op: Operation, value: unknown): void {
    if (op.spec.type !== 'tool') return;
    const tool = op.spec.tool;
    if (op.replayed) {
      say(
        `${s.magenta('↺')} ${op.label}: ${s.bold('replayed from the ledger')} — the same operation already ran in this conversation: ${resultWords(tool, value, false)}, not done again`,
      );
      return;
    }
    const notes: string[] = [];
    if (op.attempts > 1) notes.push(`${op.attempts} attempts`);
    if (op.waitedForServer !== undefined)
      notes.push(`retried after ${waitWords(op.waitedForServer)} as the server asked`);
    if (op.reconciled) notes.push('found by reconcile');
    say(
      `${s.green('✓')} ${op.label}: ${resultWords(tool, value)}${notes.length > 0 ? s.dim(` (${notes.join('; ')})`) : ''}`,
    );
  }

  function failed(op: Operation, err: unknown): void {
    if (op.spec.type === 'route') {
      say(`${s.red('✗')} no model could answer: ${isBreakwaterError(err) ? err.message : String(err)}`);
      return;
    }
    if (isBreakwaterError(err) && err.outcome === 'unknown') {
      say(
        `${s.yellow('?')} ${op.label}: the model is told the outcome is unknown and not to call it again for this`,
      );
      return;
    }
    const why = isBreakwaterError(err) ? err.message : 'failed';
    say(`${s.red('✗')} ${op.label}: ${why} — the model is told, in a tool result`);
  }

  function wrapScope(scope: OperationScope, op: Operation): OperationScope {
    return {
      span: scope.span,
      event: (name, attributes) => scope.event(name, attributes),
      result: (value) => scope.result(value),
      replayed: () => {
        op.replayed = true;
        scope.replayed();
      },
      fallback: (from, to, reason) => {
        // A skip for an open breaker was told as it happened; a failover after failures is news.
        if (reason !== 'circuit_open')
          say(`${s.cyan('⤳')} failed over from ${from} to ${s.bold(to)} (${reason.replace(/_/g, ' ')})`);
        scope.fallback(from, to, reason);
      },
    };
  }

  return {
    captureContent: inner.captureContent,
    operation<T>(spec: OperationSpec, fn: (scope: OperationScope) => Promise<T>): Promise<T> {
      const op: Operation = {
        spec,
        label: spec.type === 'tool' ? callLabel(spec.tool, spec.arguments) : spec.name,
        attempts: 0,
        lastFailure: undefined,
        replayed: false,
        waitedForServer: undefined,
        reconciled: false,
      };
      return inner.operation(spec, (scope) =>
        current.run(op, async () => {
          try {
            const value = await fn(wrapScope(scope, op));
            finished(op, value);
            return value;
          } catch (err) {
            failed(op, err);
            throw err;
          }
        }),
      );
    },
    observer(target) {
      const base = inner.observer(target);
      const observer: PolicyObserver = {
        attempt<T>(
          info: Parameters<NonNullable<PolicyObserver['attempt']>>[0],
          run: () => Promise<AttemptOutcome<T>>,
        ) {
          const op = current.getStore();
          if (op) op.attempts++;
          const watched = async () => {
            const outcome = await run();
            if (op && !outcome.ok) op.lastFailure = outcome.failure;
            streak.set(info.dependency, outcome.ok ? 0 : (streak.get(info.dependency) ?? 0) + 1);
            return outcome;
          };
          return base.attempt ? base.attempt(info, watched) : watched();
        },
        event(e) {
          onEvent(e);
          base.event?.(e);
        },
      };
      if (base.operation) observer.operation = base.operation.bind(base);
      return observer;
    },
  };
}
