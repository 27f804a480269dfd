import { createOpenAI } from '@ai-sdk/openai';
import { generateText, wrapLanguageModel } from 'ai';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { breakwaterMiddleware } from '../../../src/ai-sdk.js';
import { createRedisStore } from '../../../src/state/redis.js';
import { openaiReplies, startFakeOpenAI } from '../../fakes/openai-server.js';
import { connect, redisOrSkip, testPrefix } from '../../fakes/redis.js';
import { quickProfile } from '../../providers/helpers.js';

type Fake = Awaited<ReturnType<typeof startFakeOpenAI>>;

const available = await redisOrSkip();

describe.skipIf(!available)('on Redis: the middleware shares one model’s breaker between processes', () => {
  let client: Redis;
  let fake: Fake;
  beforeAll(() => {
    client = connect();
  });
  afterAll(async () => {
    await client.quit();
  });
  beforeEach(async () => {
    fake = await startFakeOpenAI();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('two failures in one process open the breaker for the other, which sends nothing', async () => {
    const prefix = testPrefix('ai-sdk-middleware');
    const profile = quickProfile({
      retry: { maxAttempts: 1 },
      breaker: { mode: 'consecutive', consecutiveFailures: 2, openMs: 60_000 },
    });
    // Two "processes": each its own middleware and model, one Redis between them.
    const make = () =>
      wrapLanguageModel({
        model: createOpenAI({ baseURL: fake.baseURL, apiKey: 'sk-test-not-a-key' }).chat('gpt-test'),
        middleware: breakwaterMiddleware({ profile, store: createRedisStore(client, { prefix, syncMs: 0 }) }),
      });
    const one = make();
    const other = make();
    fake.respond(() => openaiReplies.error(500));
    for (let i = 0; i < 2; i++)
      await expect(generateText({ model: one, prompt: 'x', maxRetries: 0 })).rejects.toThrow(/HTTP 500/);
    const seen = fake.count;
    await expect(generateText({ model: other, prompt: 'x', maxRetries: 0 })).rejects.toMatchObject({
      code: 'circuit_open',
    });
    expect(fake.count).toBe(seen);
  });
});
