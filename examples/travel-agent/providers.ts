/**
 * The model providers: the real OpenAI and Anthropic APIs when their keys
 * are set, otherwise the scripted model on a local server. Either way the
 * agent talks through the official SDK clients — with their own retries off
 * (`maxRetries: 0`: one retry loop only, breakwater's) and breakwater's
 * classifying fetch (so a failure says whether the request ever left).
 */
import Anthropic from '@anthropic-ai/sdk';
import {
  createAnthropicProvider,
  createClassifyingFetch,
  createOpenAIProvider,
  type ProfileInput,
  type Provider,
} from 'breakwater';
import OpenAI from 'openai';
import { type ModelServerStats, startModelServer } from './model-server.js';
import type { ModelFaults } from './schedule.js';

export interface Models {
  readonly providers: readonly Provider[];
  /** The router's profile for every provider. */
  readonly profile: ProfileInput;
  /** True when the scripted model answers, on loopback. */
  readonly offline: boolean;
  /** What answers, for the header of the run. */
  readonly description: string;
  /** Requests the local model server saw, when offline. */
  stats(): ModelServerStats | undefined;
  close(): Promise<void>;
}

export const OPENAI_MODEL = process.env.OPENAI_MODEL ?? 'gpt-4.1-mini';
export const ANTHROPIC_MODEL = process.env.ANTHROPIC_MODEL ?? 'claude-haiku-4-5';

/**
 * Offline waits are short so the story takes seconds: three failures in a
 * row open a breaker, which then stays open longer than the rest of the run.
 */
export const offlineModelProfile: ProfileInput = {
  extends: 'llm',
  name: 'llm-demo',
  timeout: { attemptMs: 3_000, totalMs: 15_000, connectMs: 1_000 },
  retry: { maxAttempts: 3, backoff: { initialMs: 100, maxMs: 400 }, maxRetryAfterMs: 3_000 },
  breaker: { mode: 'consecutive', consecutiveFailures: 3, openMs: 5_000, maxOpenMs: 20_000 },
};

/** Real providers keep the built-in `llm` profile, with a breaker that counts failures in a row as the demo's does. */
export const onlineModelProfile: ProfileInput = {
  extends: 'llm',
  name: 'llm',
  breaker: { mode: 'consecutive', consecutiveFailures: 3 },
};

function openaiClient(apiKey: string, baseURL?: string): OpenAI {
  return new OpenAI({
    apiKey,
    maxRetries: 0,
    fetch: createClassifyingFetch({ connectTimeoutMs: 5_000 }),
    ...(baseURL !== undefined ? { baseURL } : {}),
  });
}

function anthropicClient(apiKey: string, baseURL?: string): Anthropic {
  return new Anthropic({
    apiKey,
    maxRetries: 0,
    fetch: createClassifyingFetch({ connectTimeoutMs: 5_000 }),
    ...(baseURL !== undefined ? { baseURL } : {}),
  });
}

export interface ModelOptions {
  readonly faults: ModelFaults;
  /** Ignore API keys in the environment. */
  readonly offline: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

export async function startModels(options: ModelOptions): Promise<Models> {
  const env = options.env ?? process.env;
  const openaiKey = options.offline ? undefined : env.OPENAI_API_KEY || undefined;
  const anthropicKey = options.offline ? undefined : env.ANTHROPIC_API_KEY || undefined;

  if (openaiKey === undefined && anthropicKey === undefined) {
    const server = await startModelServer(options.faults);
    return {
      providers: [
        // A dummy key: the SDKs insist on one, and the local server ignores it.
        createOpenAIProvider(openaiClient('sk-local-not-a-key', server.openaiBaseURL), {
          model: OPENAI_MODEL,
        }),
        createAnthropicProvider(anthropicClient('sk-ant-local-not-a-key', server.anthropicBaseURL), {
          model: ANTHROPIC_MODEL,
        }),
      ],
      profile: offlineModelProfile,
      offline: true,
      description: `scripted model on breakwater/testing's fake OpenAI and fake Anthropic, over the OpenAI and Anthropic wire formats, through the real SDK clients`,
      stats: () => server.stats(),
      close: () => server.close(),
    };
  }

  const providers: Provider[] = [];
  if (openaiKey !== undefined)
    providers.push(createOpenAIProvider(openaiClient(openaiKey), { model: OPENAI_MODEL }));
  if (anthropicKey !== undefined)
    providers.push(createAnthropicProvider(anthropicClient(anthropicKey), { model: ANTHROPIC_MODEL }));
  return {
    providers,
    profile: onlineModelProfile,
    offline: false,
    description: `the real ${providers.map((p) => `${p.name}/${p.model}`).join(' and ')} (keys from the environment; the travel services stay local and faulty)`,
    stats: () => undefined,
    close: async () => {},
  };
}
