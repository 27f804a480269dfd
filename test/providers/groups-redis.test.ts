import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOpenAIProvider, createRouter } from '../../src/providers/index.js';
import { createRedisStore } from '../../src/state/redis.js';
import { openaiReplies, startFakeOpenAI } from '../fakes/openai-server.js';
import { connect, redisOrSkip, testPrefix } from '../fakes/redis.js';
import { hello, openaiClient, quickProfile } from './helpers.js';

type Fake = Awaited<ReturnType<typeof startFakeOpenAI>>;

const available = await redisOrSkip();

describe.skipIf(!available)(
  'on Redis: each deployment’s health, keyed by its id, is shared by every process',
  () => {
    let client: Redis;
    let east: Fake;
    let west: Fake;
    beforeAll(() => {
      client = connect();
    });
    afterAll(async () => {
      await client.quit();
    });
    beforeEach(async () => {
      [east, west] = await Promise.all([startFakeOpenAI(), startFakeOpenAI()]);
    });
    afterEach(async () => {
      await Promise.all([east.close(), west.close()]);
    });

    it('a breaker opened in one process keeps the other’s calls off that deployment, and only that one', async () => {
      const prefix = testPrefix('deployments');
      // Two deployments of one provider name and model: only their ids tell their health apart.
      const make = () =>
        createRouter({
          groups: {
            smart: {
              strategy: 'weighted',
              deployments: [
                {
                  id: 'east',
                  provider: createOpenAIProvider(openaiClient(east.baseURL), { model: 'gpt-test' }),
                  weight: 1_000,
                },
                {
                  id: 'west',
                  provider: createOpenAIProvider(openaiClient(west.baseURL), { model: 'gpt-test' }),
                  weight: 1,
                },
              ],
            },
          },
          profile: quickProfile({
            breaker: {
              mode: 'consecutive',
              consecutiveFailures: 1,
              openMs: 60_000,
              maxOpenMs: 60_000,
              halfOpenProbes: 1,
            },
          }),
          store: createRedisStore(client, { prefix, syncMs: 0 }),
          random: () => 0,
        });
      const one = make();
      const other = make();
      east.respond(() => openaiReplies.error(500));

      expect((await one.chat(hello)).deployment).toBe('west');
      expect(east.count).toBe(1);

      // The other process has never called east, yet sends it nothing.
      for (let i = 0; i < 3; i++) expect((await other.chat(hello)).deployment).toBe('west');
      expect(east.count).toBe(1);
      expect(other.routes.find((r) => r.id === 'west')!.policy.breaker!.state).toBe('closed');
    });
  },
);
