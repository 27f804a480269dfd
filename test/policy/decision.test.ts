import { describe, expect, it } from 'vitest';
import type { Delivery, Failure, FailureKind } from '../../src/failure/failure.js';
import { decideRetry, type Effect, type RetryVerdict } from '../../src/policy/decision.js';

const f = (kind: FailureKind, delivery: Delivery, extra: Partial<Failure> = {}): Failure => ({
  kind,
  delivery,
  message: kind,
  cause: undefined,
  ...extra,
});

type Column = readonly [Effect, boolean];
const IDEMPOTENT: Column = ['idempotent', false];
const KEYED: Column = ['non-idempotent', true];
const UNKEYED: Column = ['non-idempotent', false];

/** The retry decision table of docs/policies.md, row by row: [failure, idempotent, keyed, unkeyed]. */
const TABLE: ReadonlyArray<readonly [string, Failure, RetryVerdict, RetryVerdict, RetryVerdict]> = [
  ['not_sent (ECONNREFUSED)', f('network', 'not_sent', { code: 'ECONNREFUSED' }), 'retry', 'retry', 'retry'],
  ['not_processed (429)', f('rate_limited', 'not_processed', { status: 429 }), 'retry', 'retry', 'retry'],
  ['not_processed (529)', f('overloaded', 'not_processed', { status: 529 }), 'retry', 'retry', 'retry'],
  ['unknown (timeout after send)', f('timeout', 'unknown'), 'retry', 'retry', 'reconcile'],
  ['unknown (500)', f('server_error', 'unknown', { status: 500 }), 'retry', 'retry', 'reconcile'],
  [
    'unknown (reset after write)',
    f('network', 'unknown', { code: 'ECONNRESET' }),
    'retry',
    'retry',
    'reconcile',
  ],
  ['409 conflict', f('conflict', 'not_processed', { status: 409 }), 'retry', 'retry', 'stop'],
  ['processed (400)', f('client_error', 'processed', { status: 400 }), 'stop', 'stop', 'stop'],
  ['processed (401)', f('auth', 'processed', { status: 401 }), 'stop', 'stop', 'stop'],
  [
    'processed (x-should-retry: false on 500)',
    f('server_error', 'processed', { status: 500, shouldRetry: false }),
    'stop',
    'stop',
    'stop',
  ],
  ['circuit_open', f('circuit_open', 'not_sent'), 'stop', 'stop', 'stop'],
  ['gate_rejected', f('gate_rejected', 'not_sent'), 'stop', 'stop', 'stop'],
  ['invalid_input', f('invalid_input', 'not_sent'), 'stop', 'stop', 'stop'],
  ['cancelled', f('cancelled', 'not_sent'), 'stop', 'stop', 'stop'],
];

describe('the retry decision table', () => {
  it.each(TABLE)('%s', (_name, failure, idem, keyed, unkeyed) => {
    expect(decideRetry(failure, ...IDEMPOTENT)).toBe(idem);
    expect(decideRetry(failure, ...KEYED)).toBe(keyed);
    expect(decideRetry(failure, ...UNKEYED)).toBe(unkeyed);
  });
});
