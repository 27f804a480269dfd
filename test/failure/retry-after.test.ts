import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ABSURD_WAIT_MS,
  parseGoDuration,
  parseRetryAfter,
  parseRetryAfterValue,
  parseShouldRetry,
} from '../../src/failure/retry-after.js';

const NOW = Date.parse('2026-01-01T12:00:00Z');

describe('Retry-After parsing', () => {
  it('reads retry-after-ms first, then retry-after', () => {
    expect(parseRetryAfter({ 'retry-after-ms': '250', 'retry-after': '3' }, NOW)).toBe(250);
    expect(parseRetryAfter({ 'retry-after': '3' }, NOW)).toBe(3000);
    expect(parseRetryAfter({ 'retry-after': '1.5' }, NOW)).toBe(1500);
  });

  it('accepts a Headers object and is case-insensitive on plain objects', () => {
    expect(parseRetryAfter(new Headers({ 'Retry-After-Ms': '40' }), NOW)).toBe(40);
    expect(parseRetryAfter({ 'Retry-After': '2' }, NOW)).toBe(2000);
  });

  it('reads an HTTP-date relative to now, and a past date as zero', () => {
    expect(parseRetryAfterValue('Thu, 01 Jan 2026 12:00:05 GMT', NOW)).toBe(5000);
    expect(parseRetryAfterValue('Wed, 31 Dec 2025 12:00:00 GMT', NOW)).toBe(0);
  });

  it('falls back from a garbage retry-after-ms to retry-after', () => {
    expect(parseRetryAfter({ 'retry-after-ms': 'NaN', 'retry-after': '2' }, NOW)).toBe(2000);
  });

  it.each(['-5', 'NaN', '1e99', '', 'soon', 'Infinity', '99999999999'])(
    'treats retry-after %j as absent',
    (v) => {
      expect(parseRetryAfter({ 'retry-after': v }, NOW)).toBeUndefined();
    },
  );

  it('parses OpenAI durations', () => {
    expect(parseGoDuration('20ms')).toBe(20);
    expect(parseGoDuration('1s')).toBe(1000);
    expect(parseGoDuration('6m0s')).toBe(360_000);
    expect(parseGoDuration('1h2m3.5s')).toBe(3_723_500);
    expect(parseGoDuration('-1')).toBeUndefined();
    expect(parseGoDuration('1x')).toBeUndefined();
  });

  it('uses the latest reset of an exhausted OpenAI bucket', () => {
    const h = {
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': '1s',
      'x-ratelimit-remaining-tokens': '5000',
      'x-ratelimit-reset-tokens': '6m0s',
    };
    expect(parseRetryAfter(h, NOW)).toBe(1000);
  });

  it('uses the latest reset of exhausted Anthropic buckets', () => {
    const h = {
      'anthropic-ratelimit-requests-remaining': '0',
      'anthropic-ratelimit-requests-reset': '2026-01-01T12:00:30Z',
      'anthropic-ratelimit-tokens-remaining': '0',
      'anthropic-ratelimit-tokens-reset': '2026-01-01T12:00:45Z',
      'anthropic-ratelimit-input-tokens-remaining': '100',
      'anthropic-ratelimit-input-tokens-reset': '2026-01-01T12:05:00Z',
    };
    expect(parseRetryAfter(h, NOW)).toBe(45_000);
  });

  it('prefers an explicit retry-after over bucket resets', () => {
    expect(parseRetryAfter({ 'retry-after': '1', 'x-ratelimit-reset-requests': '6m0s' }, NOW)).toBe(1000);
  });

  it('reads x-should-retry', () => {
    expect(parseShouldRetry({ 'x-should-retry': 'true' })).toBe(true);
    expect(parseShouldRetry({ 'x-should-retry': 'FALSE' })).toBe(false);
    expect(parseShouldRetry({ 'x-should-retry': 'maybe' })).toBeUndefined();
  });

  it('never yields a negative, NaN or endless wait for any header value', () => {
    const names = [
      'retry-after',
      'retry-after-ms',
      'x-ratelimit-reset-requests',
      'anthropic-ratelimit-tokens-reset',
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.string(),
        fc.integer({ min: 0, max: 4e12 }),
        (name, value, now) => {
          const v = parseRetryAfter({ [name]: value }, now);
          return v === undefined || (Number.isFinite(v) && v >= 0 && v <= ABSURD_WAIT_MS);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
