/**
 * A router over two providers: OpenAI first, Anthropic when OpenAI is down or
 * rate limited. Each provider sits behind its own breaker, retries and
 * Retry-After cooldown; the conversation continues on whichever answers.
 *
 * Run: `npm run example:router` (offline: OpenAI's stand-in answers 429 with a
 * ten-minute Retry-After, Anthropic's answers), or set OPENAI_API_KEY and
 * ANTHROPIC_API_KEY to run it against the real providers.
 */
import { pathToFileURL } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import {
  createAnthropicProvider,
  createClassifyingFetch,
  createOpenAIProvider,
  createRouter,
} from 'breakwater';
import OpenAI from 'openai';
import { startModelStandIns } from './stand-in.js';

export async function runRouterExample(log: (line: string) => void = console.log) {
  const live = Boolean(process.env.OPENAI_API_KEY && process.env.ANTHROPIC_API_KEY);
  const standIns = live ? undefined : await startModelStandIns();

  // Tells a connect timeout (never sent) from a read timeout (maybe processed).
  const fetch = createClassifyingFetch({ connectTimeoutMs: 10_000 });
  const openai = new OpenAI({ fetch, maxRetries: 0, ...standIns?.openai });
  const anthropic = new Anthropic({ fetch, maxRetries: 0, ...standIns?.anthropic });

  const router = createRouter({
    providers: [
      createOpenAIProvider(openai, { model: 'gpt-4.1-mini' }),
      createAnthropicProvider(anthropic, { model: 'claude-haiku-4-5' }),
    ],
  });

  try {
    const answers = [];
    for (const question of ['Why is the sky blue?', 'And why are sunsets red?']) {
      const res = await router.chat(
        { system: 'Answer in one sentence.', messages: [{ role: 'user', content: question }] },
        { deadlineMs: 30_000 },
      );
      log(`${question} → ${res.provider}/${res.model}: ${res.message.content}`);
      answers.push(res);
    }
    return { answers, openaiRequests: standIns?.openaiRequests() };
  } finally {
    await standIns?.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { openaiRequests } = await runRouterExample();
  // The second question skipped OpenAI without a request: its cooldown had not ended.
  if (openaiRequests !== undefined) console.log(`requests that reached OpenAI: ${openaiRequests}`);
}
