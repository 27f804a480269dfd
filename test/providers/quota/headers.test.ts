/**
 * Reading the rate-limit headers OpenAI and Anthropic send on every answer,
 * in the forms they send them, and ignoring whatever else arrives.
 */
import { describe, expect, it } from 'vitest';
import { readRateLimitHeaders } from '../../../src/providers/quota/index.js';

const NOW = 1_000_000;

describe('readRateLimitHeaders', () => {
  it("reads OpenAI's six headers, resets as Go durations from now", () => {
    const h = new Headers({
      'x-ratelimit-limit-requests': '5000',
      'x-ratelimit-remaining-requests': '4999',
      'x-ratelimit-reset-requests': '12ms',
      'x-ratelimit-limit-tokens': '40000',
      'x-ratelimit-remaining-tokens': '18000',
      'x-ratelimit-reset-tokens': '6m0s',
    });
    expect(readRateLimitHeaders(h, NOW)).toEqual({
      requests: { remaining: 4999, limit: 5000, resetAt: NOW + 12 },
      tokens: { remaining: 18000, limit: 40000, resetAt: NOW + 360_000 },
    });
  });

  it.each([
    ['1s', 1_000],
    ['0.5s', 500],
    ['20ms', 20],
    ['1m30.5s', 90_500],
    ['1h2m3s', 3_723_000],
  ])('an OpenAI reset of %s is %d ms', (reset, ms) => {
    const r = readRateLimitHeaders(
      { 'x-ratelimit-remaining-tokens': '10', 'x-ratelimit-reset-tokens': reset },
      NOW,
    );
    expect(r?.tokens?.resetAt).toBe(NOW + ms);
  });

  it("reads Anthropic's headers, resets as RFC 3339 timestamps carried over to the caller's clock", () => {
    const inTwoSeconds = new Date(Date.now() + 2_000).toISOString();
    const h = new Headers({
      'anthropic-ratelimit-requests-limit': '50',
      'anthropic-ratelimit-requests-remaining': '49',
      'anthropic-ratelimit-requests-reset': inTwoSeconds,
      'anthropic-ratelimit-tokens-limit': '96000',
      'anthropic-ratelimit-tokens-remaining': '95000',
      'anthropic-ratelimit-tokens-reset': inTwoSeconds,
      'anthropic-ratelimit-input-tokens-limit': '80000',
      'anthropic-ratelimit-input-tokens-remaining': '80000',
      'anthropic-ratelimit-output-tokens-limit': '16000',
      'anthropic-ratelimit-output-tokens-remaining': '100',
    });
    const r = readRateLimitHeaders(h, NOW);
    expect(r?.requests).toMatchObject({ remaining: 49, limit: 50 });
    // The combined tokens window, not the output window: a short answer to a long prompt must not be held by it.
    expect(r?.tokens).toMatchObject({ remaining: 95000, limit: 96000 });
    // Within the time this test takes, the reset is about two seconds from now on the caller's clock.
    expect(r!.requests!.resetAt! - NOW).toBeGreaterThan(1_000);
    expect(r!.requests!.resetAt! - NOW).toBeLessThanOrEqual(2_000);
  });

  it("uses Anthropic's input-tokens window when the combined one is absent", () => {
    const r = readRateLimitHeaders(
      {
        'anthropic-ratelimit-input-tokens-limit': '80000',
        'anthropic-ratelimit-input-tokens-remaining': '7000',
      },
      NOW,
    );
    expect(r).toEqual({ tokens: { remaining: 7000, limit: 80000 } });
  });

  it('a reset already past means now, never a time before it', () => {
    const r = readRateLimitHeaders(
      {
        'anthropic-ratelimit-requests-remaining': '0',
        'anthropic-ratelimit-requests-reset': '2001-01-01T00:00:00Z',
      },
      NOW,
    );
    expect(r?.requests?.resetAt).toBe(NOW);
  });

  it.each([['-1'], ['abc'], ['1e5'], [''], ['12.5'], ['9'.repeat(40)], ['0x10']])(
    'ignores the garbage count %j rather than throwing',
    (garbage) => {
      expect(
        readRateLimitHeaders(
          { 'x-ratelimit-remaining-tokens': garbage, 'x-ratelimit-limit-tokens': garbage },
          NOW,
        ),
      ).toBeUndefined();
    },
  );

  it('keeps a good count beside a garbage limit or reset, dropping only the garbage', () => {
    const r = readRateLimitHeaders(
      {
        'x-ratelimit-remaining-tokens': '300',
        'x-ratelimit-limit-tokens': '-1',
        'x-ratelimit-reset-tokens': 'soon',
        'anthropic-ratelimit-requests-remaining': '3',
        'anthropic-ratelimit-requests-reset': 'Tuesday',
      },
      NOW,
    );
    expect(r).toEqual({ tokens: { remaining: 300 }, requests: { remaining: 3 } });
  });

  it('drops a limit below what remains (self-contradictory) and keeps the remaining figure', () => {
    const r = readRateLimitHeaders(
      { 'x-ratelimit-remaining-requests': '10', 'x-ratelimit-limit-requests': '5' },
      NOW,
    );
    expect(r).toEqual({ requests: { remaining: 10 } });
  });

  it("when both vendors' headers are present, the window with less left wins", () => {
    const r = readRateLimitHeaders(
      { 'x-ratelimit-remaining-requests': '10', 'anthropic-ratelimit-requests-remaining': '4' },
      NOW,
    );
    expect(r?.requests?.remaining).toBe(4);
  });

  it('undefined for no headers, no rate-limit headers, or something that is not headers', () => {
    expect(readRateLimitHeaders(new Headers({ 'content-type': 'application/json' }), NOW)).toBeUndefined();
    expect(readRateLimitHeaders(undefined, NOW)).toBeUndefined();
    expect(readRateLimitHeaders('x-ratelimit-remaining-tokens: 5', NOW)).toBeUndefined();
    expect(readRateLimitHeaders({ get: () => 42 }, NOW)).toBeUndefined();
  });
});
