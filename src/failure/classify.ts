import { attemptMark } from './attempt-delivery.js';
import { type DeliveryTrace, deliveryAnnotation } from './delivery-probe.js';
import { isBreakwaterError } from './errors.js';
import type { Delivery, Failure, FailureKind } from './failure.js';
import { isNotSentError, isToolVerdict } from './not-sent.js';
import { parseRetryAfter, parseShouldRetry } from './retry-after.js';

/** What the pipeline knows about an attempt that the error itself may have lost. */
export interface ClassifyHints {
  /** Our own clock ran out: one attempt's timeout, or the operation's deadline. */
  readonly timedOut?: 'attempt' | 'deadline';
  /** The caller's signal aborted. Wins over `timedOut`: the caller gave up first. */
  readonly cancelled?: boolean;
  /**
   * Whether any request of this attempt had its headers written, as recorded by
   * the delivery probe. `false` proves `not_sent`; undefined means not tracked.
   */
  readonly requestWritten?: boolean;
  /** Wall-clock now, for HTTP-dates in Retry-After. */
  readonly nowMs?: number;
  /**
   * What every request of the attempt did (its delivery record). Once any of
   * them may have reached a server, the attempt is at least `unknown`,
   * whatever the last error says. Read from the error itself when the attempt
   * ran under `proveDelivery`.
   */
  readonly attempt?: DeliveryTrace;
  /**
   * A non-idempotent operation: only breakwater's own proof (the classifying
   * fetch, a `NotSentError`) makes a failure `not_sent`; an error code from
   * any other client (a database driver's `ECONNREFUSED`) is no proof.
   */
  readonly strict?: boolean;
}

/** Provably never left the process, whatever the syscall. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_NONAME',
  'EAI_FAIL',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'BW_CONNECT_TIMEOUT',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_INVALID_URL',
]);
const NOT_SENT_PREFIXES = ['ERR_TLS_', 'ERR_SSL_'];

/** Network trouble that may have happened after the request was written. */
const MAYBE_SENT_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);
const TIMEOUT_CODES = new Set([
  'BW_CONNECT_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

interface Evidence {
  status?: number;
  headers?: unknown;
  code?: string;
  syscall?: string;
  abort?: 'abort' | 'timeout';
  connectPhase?: boolean;
}

/**
 * An error's class name. openai@6 never sets `name` on its errors (they all
 * say `Error`), so the constructor's name is the only way to tell its
 * timeout, abort and connection errors apart.
 */
function errorName(o: object): string {
  const own = (o as { name?: unknown }).name;
  if (typeof own === 'string' && own !== 'Error') return own;
  const ctor = (o as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof ctor === 'string' ? ctor : typeof own === 'string' ? own : '';
}

/** Walks `cause` chains and AggregateErrors, keeping the most specific facts found. */
function gather(err: unknown): Evidence {
  const ev: Evidence = {};
  const seen = new Set<unknown>();
  const stack: unknown[] = [err];
  while (stack.length > 0 && seen.size < 32) {
    const e = stack.pop();
    if (e === null || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const o = e as Record<string, unknown>;
    if (ev.status === undefined && typeof o.status === 'number' && o.status >= 100 && o.status <= 599) {
      ev.status = o.status;
      ev.headers = o.headers;
    }
    if (typeof o.code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(o.code)) {
      const connect = o.syscall === 'connect';
      // Deeper errors are more specific, except that a connect-phase one is proof and wins outright.
      if (connect || !ev.connectPhase) {
        ev.code = o.code;
        ev.syscall = typeof o.syscall === 'string' ? o.syscall : undefined;
        ev.connectPhase = connect;
      }
    }
    const name = errorName(o);
    if (ev.abort === undefined) {
      if (name === 'AbortError' || name === 'APIUserAbortError') ev.abort = 'abort';
      else if (name === 'TimeoutError' || name === 'APIConnectionTimeoutError') ev.abort = 'timeout';
    }
    if (o.cause !== undefined) stack.push(o.cause);
    if (Array.isArray(o.errors)) for (const x of o.errors) stack.push(x);
  }
  return ev;
}

function failure(
  kind: FailureKind,
  delivery: Delivery,
  message: string,
  cause: unknown,
  extra?: { status?: number; retryAfterMs?: number; shouldRetry?: boolean; code?: string },
): Failure {
  return { kind, delivery, message, cause, ...extra };
}

/**
 * Classifies an HTTP answer. Exposed on its own for code that holds a
 * `Response` rather than an error.
 */
export function classifyHttp(status: number, headers: unknown, cause: unknown, nowMs = Date.now()): Failure {
  const shouldRetry = parseShouldRetry(headers);
  const retryAfterMs = parseRetryAfter(headers, nowMs);
  const extra = {
    status,
    code: `http_${status}`,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    ...(shouldRetry !== undefined ? { shouldRetry } : {}),
  };
  const msg = `HTTP ${status}`;
  // The dependency's explicit word settles delivery (x-should-retry).
  if (shouldRetry === false) return failure(kindOfStatus(status), 'processed', msg, cause, extra);
  if (status === 429) return failure('rate_limited', 'not_processed', msg, cause, extra);
  if (status === 529) return failure('overloaded', 'not_processed', msg, cause, extra);
  if (status === 503) {
    const said = retryAfterMs !== undefined || shouldRetry === true;
    return failure('overloaded', said ? 'not_processed' : 'unknown', msg, cause, extra);
  }
  if (status === 409) return failure('conflict', 'not_processed', msg, cause, extra);
  if (shouldRetry === true) return failure(kindOfStatus(status), 'not_processed', msg, cause, extra);
  if (status === 408) return failure('timeout', 'unknown', msg, cause, extra);
  if (status >= 500) return failure('server_error', 'unknown', msg, cause, extra);
  return failure(kindOfStatus(status), 'processed', msg, cause, extra);
}

function kindOfStatus(status: number): FailureKind {
  if (status === 401 || status === 403) return 'auth';
  if (status === 429) return 'rate_limited';
  if (status === 408) return 'timeout';
  if (status === 409) return 'conflict';
  if (status === 503 || status === 529) return 'overloaded';
  if (status >= 500) return 'server_error';
  if (status >= 400) return 'client_error';
  return 'unknown';
}

/**
 * Turns anything thrown into a `Failure`. Hints from the pipeline win over
 * what the error says, because SDKs wrap aborts and timeouts in ways that lose
 * who aborted and when. Delivery is proven per attempt: the failure of the
 * last request says nothing about the requests before it.
 */
export function classify(err: unknown, hints: ClassifyHints = {}): Failure {
  const mark = hints.attempt === undefined ? attemptMark(err) : undefined;
  const strict = hints.strict ?? mark?.strict ?? false;
  const f = classifyOne(err, hints, strict);
  // A tool's own verdict (`ToolError`) was given knowing what its requests did.
  if (isToolVerdict(err)) return f;
  return throughAttempt(f, hints.attempt ?? mark?.trace);
}

/**
 * The last error's verdict, checked against the whole attempt: a request of
 * the attempt other than the one this failure answers for may have reached
 * its server (an image billed before the download was refused), so the
 * attempt may have taken effect.
 */
function throughAttempt(f: Failure, t: DeliveryTrace | undefined): Failure {
  if (t === undefined || t.reached === 0 || f.delivery === 'unknown') return f;
  // An HTTP status answers for the one request that received it.
  const answered = f.status !== undefined && t.statuses.includes(f.status) ? 1 : 0;
  if (t.reached - answered <= 0) return f;
  return {
    ...f,
    delivery: 'unknown',
    message: `${f.message}; another request of this attempt may have reached its server`,
  };
}

function classifyOne(err: unknown, hints: ClassifyHints, strict: boolean): Failure {
  if (isBreakwaterError(err)) return err.failure;
  if (isNotSentError(err)) {
    const inner = err.cause === undefined ? undefined : classifyOne(err.cause, { nowMs: hints.nowMs }, false);
    const kind = inner && inner.kind !== 'unknown' ? inner.kind : 'network';
    return failure(kind, 'not_sent', `not sent, as the tool says: ${inner?.message ?? 'NotSentError'}`, err, {
      code: inner?.code ?? 'not_sent',
    });
  }
  // What the fetch that threw this saw of its own requests; absent for any other client's error.
  const own = deliveryAnnotation(err);
  const written = hints.requestWritten ?? (own === undefined ? undefined : own.reached > 0);
  const notSentProven = written === false;
  if (own !== undefined && own.requests === 0 && own.reached === 0 && !hints.cancelled && !hints.timedOut) {
    // Refused before any request existed (a bad URL, a blocked port, an invalid header): trying again cannot help.
    const reason = err instanceof TypeError && err.cause instanceof Error ? err.cause.message : '';
    const code = gather(err).code ?? 'invalid_request';
    return failure(
      'client_error',
      'not_sent',
      `the request could not be made${reason ? `: ${reason}` : ''}`,
      err,
      { code, shouldRetry: false },
    );
  }
  // An error code proves nothing about a request that was written, nor, when repeating is unsafe, about a
  // client breakwater does not watch.
  const codesProve = written !== true && (!strict || own !== undefined);
  if (hints.cancelled) {
    return failure('cancelled', notSentProven ? 'not_sent' : 'unknown', 'cancelled by the caller', err);
  }
  if (hints.timedOut) {
    const what = hints.timedOut === 'attempt' ? 'attempt timeout' : 'deadline';
    return failure('timeout', notSentProven ? 'not_sent' : 'unknown', `${what} elapsed`, err, {
      code: hints.timedOut === 'attempt' ? 'attempt_timeout' : 'deadline',
    });
  }

  const ev = gather(err);
  if (ev.status !== undefined) return classifyHttp(ev.status, ev.headers, err, hints.nowMs ?? Date.now());

  if (ev.code !== undefined) {
    const code = ev.code;
    const kind: FailureKind = TIMEOUT_CODES.has(code) ? 'timeout' : 'network';
    const saysNotSent =
      NOT_SENT_CODES.has(code) ||
      NOT_SENT_PREFIXES.some((p) => code.startsWith(p)) ||
      ev.connectPhase === true;
    if (notSentProven || (codesProve && saysNotSent))
      return failure(kind, 'not_sent', `${code} before the request was sent`, err, { code });
    if (MAYBE_SENT_CODES.has(code) || saysNotSent)
      return failure(kind, 'unknown', `${code} after the request may have been sent`, err, { code });
  }

  if (ev.abort === 'timeout')
    return failure('timeout', notSentProven ? 'not_sent' : 'unknown', 'timed out', err, { code: 'timeout' });
  if (ev.abort === 'abort')
    return failure('cancelled', notSentProven ? 'not_sent' : 'unknown', 'aborted', err);

  // fetch's bare "fetch failed" / "terminated" TypeErrors and SDK connection errors.
  const name = err instanceof Error ? errorName(err) : '';
  const msg = err instanceof Error ? err.message : '';
  if (
    name === 'APIConnectionError' ||
    (err instanceof TypeError && /fetch failed|terminated|network/i.test(msg))
  ) {
    return failure('network', notSentProven ? 'not_sent' : 'unknown', 'network error', err, {
      code: ev.code ?? 'network',
    });
  }
  return failure(
    'unknown',
    notSentProven ? 'not_sent' : 'unknown',
    err instanceof Error ? errorName(err) : 'non-error thrown',
    err,
    ev.code ? { code: ev.code } : undefined,
  );
}
