/** Real SDK clients pointed at the fakes, built the way docs/providers.md recommends, and test profiles. */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { createClassifyingFetch } from '../../src/failure/index.js';
import type { ProfileInput } from '../../src/policy/index.js';
import type { ChatRequest } from '../../src/providers/index.js';

/** The SDK's default `maxRetries` (2) is left in place on purpose: the provider must switch it off per request. */
export function openaiClient(baseURL: string): OpenAI {
  return new OpenAI({
    apiKey: 'sk-test-not-a-key',
    baseURL,
    fetch: createClassifyingFetch({ connectTimeoutMs: 2_000 }),
  });
}

export function anthropicClient(baseURL: string): Anthropic {
  return new Anthropic({
    apiKey: 'sk-ant-test-not-a-key',
    baseURL,
    fetch: createClassifyingFetch({ connectTimeoutMs: 2_000 }),
  });
}

/**
 * The `llm` profile with waits that cost nothing: no backoff, no retry
 * budget, so a test's request counts follow from `maxAttempts` alone.
 */
export function quickProfile(overrides: ProfileInput = {}): ProfileInput {
  return {
    extends: 'llm',
    ...overrides,
    retry: {
      maxAttempts: 2,
      backoff: { kind: 'constant', initialMs: 0, maxMs: 0, jitter: 'none' },
      budget: false,
      ...overrides.retry,
    },
  };
}

export const hello: ChatRequest = {
  system: 'Answer briefly.',
  messages: [{ role: 'user', content: 'Say ok.' }],
};
