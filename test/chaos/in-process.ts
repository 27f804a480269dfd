/**
 * In-process fakes of the dependencies an agent calls, driven by a fault
 * schedule and a virtual clock: a payment API that honors idempotency keys,
 * an image API that does not (and one whose reconcile hook can look an image
 * up), a read-only search API, and two model providers. Each throws what the
 * real thing would (HTTP-shaped errors with status and headers, Node network
 * errors with code and syscall), so that the whole stack — registry, ledger,
 * policy, router — classifies and decides exactly as it does in production.
 */
import type { BreakerState } from '../../src/policy/breaker.js';
import type { Clock } from '../../src/policy/clock.js';
import { sleep } from '../../src/policy/sleep.js';
import { providerError } from '../../src/providers/failures.js';
import type { ChatChunk, ChatResponse, Provider } from '../../src/providers/types.js';
import { ToolError } from '../../src/tools/errors.js';

/**
 * What one request meets. `*_before`: nothing is done. `*_after`: the work is
 * done (billed) first. `hang`: no answer until the client gives up.
 */
export type ServiceFault =
  | 'ok'
  | 'refused'
  | 'reset_before'
  | 'http500_before'
  | 'http503'
  | 'http503_retry_after'
  | 'http429'
  | 'http400'
  | 'declined'
  | 'hang'
  | 'reset_after'
  | 'http500_after'
  | 'hang_after';

export const SERVICE_FAULTS: readonly ServiceFault[] = [
  'ok',
  'refused',
  'reset_before',
  'http500_before',
  'http503',
  'http503_retry_after',
  'http429',
  'http400',
  'declined',
  'hang',
  'reset_after',
  'http500_after',
  'hang_after',
];

export type ProviderFault =
  | 'ok'
  | 'refused'
  | 'reset'
  | 'http500'
  | 'http503'
  | 'http529'
  | 'http429'
  | 'http400'
  | 'http401'
  | 'malformed'
  | 'hang'
  | 'stream_error_after_first'
  | 'stream_hang_after_first';

export const PROVIDER_FAULTS: readonly ProviderFault[] = [
  'ok',
  'refused',
  'reset',
  'http500',
  'http503',
  'http529',
  'http429',
  'http400',
  'http401',
  'malformed',
  'hang',
  'stream_error_after_first',
  'stream_hang_after_first',
];

/** A Retry-After as a dependency might send it, hostile values included. */
export interface RetryAfter {
  readonly header: 'retry-after' | 'retry-after-ms';
  readonly value: string;
}

export interface Step<F> {
  readonly fault: F;
  /** Virtual milliseconds before the answer (or the fault). */
  readonly latencyMs: number;
  readonly retryAfter: RetryAfter | undefined;
}

export function httpError(status: number, headers: Record<string, string> = {}): Error {
  return Object.assign(new Error(`HTTP ${status}`), { status, headers });
}

/** What Node's fetch throws for a socket error: a TypeError whose cause carries the code. */
export function networkError(code: string, syscall: string): Error {
  return new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code, syscall }) });
}

function headersOf(step: Step<unknown>): Record<string, string> {
  return step.retryAfter ? { [step.retryAfter.header]: step.retryAfter.value } : {};
}

/** Resolves with `p`, or rejects with the abort reason as soon as `signal` aborts (a client that hangs up). */
function unlessAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

const never = new Promise<never>(() => {});

export interface Receipt {
  readonly id: string;
  readonly op: string;
  readonly ref: string;
}

/**
 * One dependency of the tools. Its work is done (and billed) the moment a
 * request is accepted, as a job record is on most such APIs, so a lookup by
 * reference sees it even while the answer is still on its way.
 */
export class FakeService {
  readonly effects = new Map<string, number>();
  private readonly byRef = new Map<string, Receipt>();
  private readonly inFlightKeys = new Set<string>();
  private seq = 0;

  constructor(
    readonly name: string,
    private readonly clock: Clock,
    private readonly steps: Step<ServiceFault>[],
    /** Stripe's behavior: the same key replays, the same key in flight gets a 409. */
    private readonly honorsKey: boolean,
    private readonly onReach: () => void,
    /** Debugging aid: every request and what it met. */
    private readonly trace?: (line: string) => void,
  ) {}

  async call(op: string, ref: string, signal: AbortSignal): Promise<Receipt> {
    this.onReach();
    const step = this.steps.shift() ?? { fault: 'ok', latencyMs: 1, retryAfter: undefined };
    this.trace?.(
      `${this.clock.now()} ${this.name} ${op} ${ref.slice(0, 12)} meets ${step.fault} (${step.latencyMs} ms)`,
    );
    const wait = () => sleep(this.clock, step.latencyMs, signal);
    switch (step.fault) {
      case 'refused':
        throw networkError('ECONNREFUSED', 'connect');
      case 'reset_before':
        await wait();
        throw networkError('ECONNRESET', 'read');
      case 'http500_before':
        await wait();
        throw httpError(500);
      case 'http503':
        await wait();
        throw httpError(503);
      case 'http503_retry_after':
        await wait();
        throw httpError(503, headersOf(step));
      case 'http429':
        await wait();
        throw httpError(429, headersOf(step));
      case 'http400':
        await wait();
        throw httpError(400);
      case 'declined':
        await wait();
        throw new ToolError('card declined');
      case 'hang':
        return unlessAborted(never, signal);
      default:
        break;
    }

    let receipt = this.honorsKey ? this.byRef.get(ref) : undefined;
    // Stripe's answer to a key reused with other parameters (two operations sharing a call id whose
    // ledger record was evicted, say): a 422, never the other operation's result.
    if (receipt !== undefined && receipt.op !== op) throw httpError(422);
    if (this.honorsKey && receipt === undefined && this.inFlightKeys.has(ref)) throw httpError(409);
    let release: (() => void) | undefined;
    if (receipt === undefined) {
      receipt = { id: `${this.name}_${++this.seq}`, op, ref };
      this.effects.set(op, (this.effects.get(op) ?? 0) + 1);
      this.byRef.set(ref, receipt);
      if (this.honorsKey) {
        // The key stays in flight until the answer is ready, whatever the client does meanwhile.
        this.inFlightKeys.add(ref);
        release = () => this.inFlightKeys.delete(ref);
      }
    }
    const answered = new Promise<void>((resolve) =>
      this.clock.setTimeout(() => {
        release?.();
        resolve();
      }, step.latencyMs),
    );
    await unlessAborted(answered, signal);
    switch (step.fault) {
      case 'reset_after':
        throw networkError('ECONNRESET', 'read');
      case 'http500_after':
        throw httpError(500);
      case 'hang_after':
        return unlessAborted(never, signal);
      default:
        return receipt;
    }
  }

  /** Reconciliation's lookup: the receipt for a reference, if the work was done. */
  lookup(ref: string): Receipt | undefined {
    return this.byRef.get(ref);
  }
}

function response(provider: string, model: string): ChatResponse {
  return {
    provider,
    model,
    message: { role: 'assistant', content: 'ok' },
    toolCalls: [],
    finishReason: 'stop',
    usage: undefined,
  };
}

/** A model provider: one attempt per call, failing as scheduled, as the real adapters fail. */
export function fakeProvider(
  name: string,
  clock: Clock,
  steps: Step<ProviderFault>[],
  breakerState: () => BreakerState | undefined,
  reach: (state: BreakerState | undefined) => void,
): Provider {
  const model = `${name}-model`;
  const dependency = `${name}/${model}`;
  const fail = (err: unknown, written = true) => providerError(err, written, dependency);

  /** Faults that strike before any answer; undefined when the answer starts. */
  async function before(step: Step<ProviderFault>, signal: AbortSignal | undefined): Promise<void> {
    reach(breakerState());
    const wait = () => sleep(clock, step.latencyMs, signal);
    switch (step.fault) {
      case 'refused':
        throw fail(networkError('ECONNREFUSED', 'connect'), false);
      case 'reset':
        await wait();
        throw fail(networkError('ECONNRESET', 'read'));
      case 'http500':
      case 'http503':
      case 'http529':
      case 'http400':
      case 'http401':
        await wait();
        throw fail(
          httpError(
            Number(step.fault.slice(4)),
            step.fault === 'http529' ? { 'x-should-retry': 'true' } : {},
          ),
        );
      case 'http429':
        await wait();
        throw fail(httpError(429, headersOf(step)));
      case 'malformed':
        await wait();
        throw fail(new SyntaxError('Unexpected token < in JSON at position 0'));
      case 'hang':
        if (signal) await unlessAborted(never, signal);
        return never;
      default:
        await wait();
    }
  }

  return {
    name,
    model,
    async chat(_request, options = {}) {
      const step = steps.shift() ?? { fault: 'ok', latencyMs: 1, retryAfter: undefined };
      await before(step, options.signal);
      return response(name, model);
    },
    async *stream(_request, options = {}): AsyncGenerator<ChatChunk, void, undefined> {
      const step = steps.shift() ?? { fault: 'ok', latencyMs: 1, retryAfter: undefined };
      await before(step, options.signal);
      yield { type: 'text', text: 'o' };
      if (step.fault === 'stream_error_after_first') {
        const overloaded = Object.assign(new Error('Overloaded'), {
          error: { type: 'overloaded_error', message: 'Overloaded' },
        });
        throw fail(overloaded);
      }
      if (step.fault === 'stream_hang_after_first') {
        // Silence mid-stream, until the router gives up on it.
        await (options.signal ? unlessAborted(never, options.signal) : never);
      }
      await sleep(clock, step.latencyMs, options.signal);
      yield { type: 'text', text: 'k' };
      yield { type: 'finish', finishReason: 'stop', response: response(name, model) };
    },
  };
}
