import type { InputIssue } from '../failure/errors.js';
import { isValidKey } from '../idempotency/keys.js';
import { invalidInput } from './errors.js';

/** What a call's options are checked against: the registry's ledger settings. */
export interface CallRules {
  readonly requireScope: boolean;
  readonly ledgerTtlMs: number;
  readonly leaseGraceMs: number;
}

/** The options of one call, as the caller may have passed them (not trusted to match their type). */
export interface RawCallOptions {
  readonly callId?: unknown;
  readonly signal?: unknown;
  readonly deadlineMs?: unknown;
  readonly scope?: unknown;
  readonly idempotencyKey?: unknown;
}

/** The rule a key breaks, never echoing the key (it may be derived from user data). */
export function keyRule(key: unknown): string {
  const got = typeof key === 'string' ? `a string of length ${key.length}` : typeof key;
  return `expected 1 to 255 printable ASCII characters without spaces, got ${got}`;
}

function checkDeadline(d: unknown, rules: CallRules): InputIssue | undefined {
  if (typeof d !== 'number' || !Number.isFinite(d) || d < 0)
    return {
      path: 'deadlineMs',
      message: `must be a finite, non-negative number of milliseconds, got ${typeof d === 'number' ? d : typeof d}`,
    };
  if (d + rules.leaseGraceMs > rules.ledgerTtlMs)
    return {
      path: 'deadlineMs',
      message: `${d} ms plus ledgerLeaseGraceMs is longer than the registry's ledgerTtlMs (${rules.ledgerTtlMs} ms)`,
    };
  return undefined;
}

/**
 * Every call option, checked before the ledger is touched: a bad one is an
 * `InvalidInputError` naming the field, with nothing recorded — never a
 * refusal after a claim that would then lock its key as "may have taken
 * effect".
 */
export function checkCallOptions(tool: string, o: RawCallOptions, rules: CallRules): void {
  if (o === null || typeof o !== 'object')
    throw invalidInput(tool, [{ path: '', message: 'call options must be an object' }]);
  const issues: InputIssue[] = [];
  if (o.callId !== undefined && typeof o.callId !== 'string')
    issues.push({ path: 'callId', message: `must be a string, got ${typeof o.callId}` });
  if (o.scope !== undefined && (typeof o.scope !== 'string' || o.scope === ''))
    issues.push({ path: 'scope', message: 'must be a non-empty string' });
  else if (o.scope === undefined && rules.requireScope)
    issues.push({ path: 'scope', message: 'is required by this registry (requireScope)' });
  const deadline = o.deadlineMs === undefined ? undefined : checkDeadline(o.deadlineMs, rules);
  if (deadline) issues.push(deadline);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal))
    issues.push({ path: 'signal', message: 'must be an AbortSignal' });
  if (o.idempotencyKey !== undefined && !isValidKey(o.idempotencyKey))
    issues.push({ path: 'idempotencyKey', message: keyRule(o.idempotencyKey) });
  if (issues.length > 0) throw invalidInput(tool, issues);
}
